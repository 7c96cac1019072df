// A runbook of `steps` no-op steps through the real kernel, undo registered like any step's.
import type * as activities from './activities';
import type { RunInput, RunResult } from '../common/shared';
import { runbook, stepActivities } from '../workflows/kernel';

const { noop } = stepActivities<typeof activities>({ startToCloseTimeout: '10 seconds' });

export async function stepBench(input: RunInput<{ steps: number }>): Promise<RunResult> {
  return runbook(input, async ({ step }) => {
    for (let i = 0; i < input.params.steps; i++) await step(`noop-${i}`, { run: () => noop(), undo: () => noop() });
  });
}

/** Two no-op steps, then an approval gate: a run as most wait, for the capacity bench. */
export async function gateBench(input: RunInput<Record<string, never>>): Promise<RunResult> {
  return runbook(input, async ({ step, approval }) => {
    await step('prepare', { run: () => noop(), undo: () => noop() });
    await step('announce', { run: () => noop(), undo: () => noop() });
    await approval('go-ahead');
  });
}

/**
 * One step that holds, scheduled as every runbook step is (the kernel's step options), or with
 * another heartbeat timeout: the lost-worker bench's baseline.
 */
export async function lostWorkerBench(input: { heartbeatTimeout: string; holdMs: number }) {
  const { hold } = stepActivities<typeof activities>({ heartbeatTimeout: input.heartbeatTimeout });
  return hold({ ms: input.holdMs });
}
