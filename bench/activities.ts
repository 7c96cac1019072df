// A step that does nothing, so what is timed is the engine around it; and the kernel's own
// activities as the worker has them (the rules a run's first step decides know the bench's
// runbooks: bench/bench-runbooks.ts).
import { Context } from '@temporalio/activity';
import './bench-runbooks';
export {
  decideRunRules,
  deliverNotice,
  lockHolder,
  noticeTargets,
  planContext,
  proveStart,
  readAlarms,
  releasedByHolder,
  verifySignature,
  verifySignatures,
} from '../activities';
export const stepStarts: number[] = [];

export async function noop(): Promise<void> {
  stepStarts.push(performance.now());
}

/** A gate's notice, as for an environment without a webhook: the bench measures the engine, not a webhook. */
export async function notifyApprovers(): Promise<boolean> {
  return false;
}

/**
 * The lost-worker bench's step: its first attempt holds (the bench SIGKILLs its worker meanwhile);
 * a later attempt returns at once, saying when it started and where.
 */
export async function hold(input: { ms: number }): Promise<{ attempt: number; startedAt: number; pid: number }> {
  const ctx = Context.current();
  const startedAt = Date.now();
  if (ctx.info.attempt === 1) await ctx.sleep(input.ms);
  return { attempt: ctx.info.attempt, startedAt, pid: process.pid };
}
