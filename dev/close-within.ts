// Closing something we started on the way out, without letting it hold the exit: the process
// exiting releases its ports anyway, so a close that hangs is given up after `ms`.
export async function closeWithin(thing: { close(): Promise<void> } | undefined, ms: number): Promise<void> {
  if (!thing) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    thing.close().catch(() => undefined),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
  ]);
  clearTimeout(timer);
}
