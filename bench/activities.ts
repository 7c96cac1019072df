// A step that does nothing, so what is timed is the engine around it.
export const stepStarts: number[] = [];

export async function noop(): Promise<void> {
  stepStarts.push(performance.now());
}

/** A gate's notice, as for an environment without a webhook: the bench measures the engine, not a webhook. */
export async function notifyApprovers(): Promise<boolean> {
  return false;
}
