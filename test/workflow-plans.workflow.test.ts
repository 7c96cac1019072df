// Every runbook's workflow, run on the dev server against stub activities, records the steps
// its dry-run plan shows: the same names, in the same order, and the same gates. The plan is
// built with what the run found out (the idle colour, the backup it picked), read from the
// stubs' calls, so `runbook start X --dry-run` shows what `runbook watch` will show.
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import { approveUpdate, progressQuery, type RunProgress, type RunResult } from '../common/shared';
import { RUNBOOKS } from '../src/runbooks';
import { startTestRun, uniqueQueue, withWorker } from './helpers';
import { environmentOf, factsOf, gatesOf, stepsOf, type ActivityCall } from './plan-facts';
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
      const queue = uniqueQueue(`plan-${spec.name}`);
      const result = await withWorker(
        queue,
        async () => runToEnd(await startTestRun(queue, { runbook: spec.name, env: ENV, params, initiator: INITIATOR })),
        stubActivities(calls),
      );
      assert.equal(result.state, 'COMPLETED', result.progress.reason);
      const plan = spec.plan(environmentOf(ENV), params, factsOf(calls));
      assert.deepEqual(
        result.progress.steps.map((s) => s.name),
        stepsOf(plan),
      );
      assert.deepEqual(
        result.progress.gates.map((g) => g.name),
        gatesOf(plan),
      );
      // A placeholder left in the plan would mean the run found something the plan was not told.
      assert.deepEqual(
        stepsOf(plan).filter((s) => /<[^>]+>/.test(s)),
        [],
      );
    });
  }
});
