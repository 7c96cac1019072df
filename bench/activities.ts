// A step that does nothing, so what is timed is the engine around it.
export const stepStarts: number[] = [];

export async function noop(): Promise<void> {
  stepStarts.push(performance.now());
}
