// Every runbook's dry run (its own procedure in plan mode on the worker) shows the steps and
// gates a real run of it then records, on the dev server against stub activities, in order, and
// calls nothing that acts: `runbook start X --dry-run` shows what `runbook watch` will show.
// The protected environment's side is in four-eyes.workflow.test.ts.
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import { approveUpdate, progressQuery, type RunProgress, type RunResult } from '../common/shared';
import { RUNBOOKS } from '../src/runbooks';
import { startTestRun, uniqueQueue, withWorker } from './helpers';
import { assertPlanIsRun, dryRunOn, type ActivityCall } from './plan-facts';
import { stubActivities } from './stub-activities';
import { STUB_PARAMS } from './stub-params';

const ENV = 'local';
const INITIATOR = 'carol';

const PARAMS = STUB_PARAMS;

/** Waits for the run's result, approving each gate it opens (by an approver who did not start it). */
async function runToEnd(handle: WorkflowHandle): Promise<RunResult> {
  let ended = false;
  const result = (handle.result() as Promise<RunResult>).finally(() => (ended = true));
  const approved = new Set<string>();
  while (!ended) {
    const progress: RunProgress | undefined = await handle.query(progressQuery).catch(() => undefined);
    const gate = progress?.gate;
    if (gate && !approved.has(gate.name)) {
      approved.add(gate.name);
      const approver = gate.approvers.find((a) => a !== INITIATOR)!;
      await handle.executeUpdate(approveUpdate, { args: [{ approver, decision: 'approve', comment: 'stub run' }] });
    }
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 200))]);
  }
  return result;
}

describe('workflows record the steps their dry-run plans show (stub activities)', function () {
  it('has parameters for every runbook', function () {
    assert.deepEqual(
      RUNBOOKS.map((r) => r.name).filter((name) => !PARAMS[name]),
      [],
    );
  });

  for (const spec of RUNBOOKS) {
    it(`${spec.name}: its run's steps and gates are its plan's, in order`, async function () {
      const params = PARAMS[spec.name];
      if (!params) this.skip();
      const calls: ActivityCall[] = [];
      const planned: ActivityCall[] = [];
      const req = { runbook: spec.name, env: ENV, params, initiator: INITIATOR };
      const dryQueue = uniqueQueue(`dry-${spec.name}`);
      const plan = await withWorker(dryQueue, () => dryRunOn(dryQueue, req), stubActivities(planned));
      const queue = uniqueQueue(`plan-${spec.name}`);
      const result = await withWorker(
        queue,
        async () => runToEnd(await startTestRun(queue, req)),
        stubActivities(calls),
      );
      assert.equal(result.state, 'COMPLETED', result.progress.reason);
      assertPlanIsRun(plan, result, planned);
    });
  }
});
