// smoke: proves the engine end to end on the worker's machine. Two steps leave a marker file
// each, an approver releases the run; a rejection, an expired gate or a cancellation removes
// the markers again, newest first.
import { workflowInfo } from '@temporalio/workflow';
import type * as activities from './activities';
import type { RunInput, RunResult } from '../../common/shared';
import type { ParamsOf } from '../../common/params';
import { runbook, stepActivities, undoActivities } from '../../workflows/kernel';
import { SMOKE_STEPS, type SMOKE_PARAMS } from './definition';

const { writeMarker } = stepActivities<typeof activities>({ startToCloseTimeout: '30 seconds' });
const { removeMarker } = undoActivities<typeof activities>({ startToCloseTimeout: '30 seconds' });

export type SmokeParams = ParamsOf<typeof SMOKE_PARAMS>;

export async function smoke(input: RunInput<SmokeParams>): Promise<RunResult> {
  const at = { env: input.env, runId: workflowInfo().workflowId };
  return runbook(input, async ({ step, approval }) => {
    await step(SMOKE_STEPS.prepare, {
      run: () => writeMarker({ ...at, step: 'prepare' }),
      undo: () => removeMarker({ ...at, step: 'prepare' }),
      plan: { where: 'worker', does: 'write the prepare marker', undo: 'remove the prepare marker' },
    });
    await step(SMOKE_STEPS.announce, {
      run: () => writeMarker({ ...at, step: 'announce' }),
      undo: () => removeMarker({ ...at, step: 'announce' }),
      plan: { where: 'worker', does: 'write the announce marker', undo: 'remove the announce marker' },
    });
    await approval(SMOKE_STEPS.gate);
  });
}
