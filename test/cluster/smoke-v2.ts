// The next build of the smoke runbook, for the upgrade test: after its gate it leaves a third
// marker. The new step is behind patched(), as every change to a released runbook must be, so
// a run that waited at the gate under the old build replays its history and then takes it.
import { patched, workflowInfo } from '@temporalio/workflow';
import type * as activities from '../../activities';
import type { RunInput, RunResult } from '../../common/shared';
import { runbook, stepActivities, undoActivities } from '../../workflows/kernel';

const { writeMarker } = stepActivities<typeof activities>({ startToCloseTimeout: '30 seconds' });
const { removeMarker } = undoActivities<typeof activities>({ startToCloseTimeout: '30 seconds' });

export const V2_STEP = 'record the upgrade';

export async function smoke(input: RunInput<Record<string, never>>): Promise<RunResult> {
  const at = { env: input.env, runId: workflowInfo().workflowId };
  return runbook(input, async ({ step, approval }) => {
    await step('prepare', {
      run: () => writeMarker({ ...at, step: 'prepare' }),
      undo: () => removeMarker({ ...at, step: 'prepare' }),
    });
    await step('announce', {
      run: () => writeMarker({ ...at, step: 'announce' }),
      undo: () => removeMarker({ ...at, step: 'announce' }),
    });
    await approval('go-ahead');
    if (patched('smoke-v2-upgrade-note')) {
      await step(V2_STEP, {
        run: () => writeMarker({ ...at, step: 'upgraded' }),
        undo: () => removeMarker({ ...at, step: 'upgraded' }),
      });
    }
  });
}
