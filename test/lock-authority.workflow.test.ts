// The environment lock answers only to its holder, played by an attacker with the stock CLI and
// a client of their own: a `release` signal from anyone else frees nothing, a lock started by
// hand holds nothing, and a workflow squatting the lock's id is cleared by the next run.
import { strict as assert } from 'node:assert';
import type { WorkflowHandle } from '@temporalio/client';
import { approvalSignal, environmentLockId, type RunResult } from '../common/shared';
import { prepareRun, startRun } from '../src/start';
import { atGate, startTestRun, testClient, uniqueQueue, waitForProgress, withWorker } from './helpers';
import type { ActivityCall } from './plan-facts';
import { stubActivities } from './stub-activities';
import { lockHolder } from '../activities/temporal';
import { temporalCliResult, temporalStart } from './attacker/stock-cli';

const ENV = 'locking';

async function lockStatus(): Promise<string> {
  const client = await testClient();
  return (await client.workflow.getHandle(environmentLockId(ENV)).describe()).status.name;
}

/** Waits until the lock has checked `n` releases (each a releasedByHolder activity completed). */
async function releasesChecked(n: number): Promise<void> {
  const client = await testClient();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const history = await client.workflow.getHandle(environmentLockId(ENV)).fetchHistory();
    const done = (history.events ?? []).filter((e) => e.activityTaskCompletedEventAttributes).length;
    if (done >= n) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the lock did not check ${n} release(s) within 60 s`);
}

async function secondRunAdmitted(taskQueue: string): Promise<boolean> {
  const client = await testClient();
  const second = prepareRun({ runbook: 'smoke', env: ENV, params: {}, initiator: 'operator' });
  const { handle, admission } = await startRun(client, second, taskQueue);
  if (admission.admitted) await handle.cancel();
  return admission.admitted;
}

describe('the environment lock answers only to its holder', function () {
  const taskQueue = uniqueQueue('lock-authority');
  const calls: ActivityCall[] = [];

  afterEach(async function () {
    const client = await testClient();
    const query = `RunbookEnv = '${ENV}' AND ExecutionStatus = 'Running'`;
    for await (const run of client.workflow.list({ query })) {
      await client.workflow
        .getHandle(run.workflowId)
        .terminate('test cleanup')
        .catch(() => undefined);
    }
    await client.workflow
      .getHandle(environmentLockId(ENV))
      .terminate('test cleanup')
      .catch(() => undefined);
  });

  it("a release signalled with the stock CLI by someone else does not free the holder's lock", async function () {
    await withWorker(
      taskQueue,
      async () => {
        const holder: WorkflowHandle = await startTestRun(taskQueue, { runbook: 'smoke', env: ENV });
        await waitForProgress(holder, atGate('go-ahead'));
        const sent = await temporalCliResult([
          'workflow',
          'signal',
          '--workflow-id',
          environmentLockId(ENV),
          '--name',
          'release',
        ]);
        assert.equal(sent.code, 0, sent.stderr);
        await releasesChecked(1);
        assert.equal(await lockStatus(), 'RUNNING', 'the forged release freed the lock');
        assert.equal(await secondRunAdmitted(taskQueue), false, 'a second mutating run was admitted beside the first');

        await holder.signal(approvalSignal, { approver: 'alice', decision: 'approve' });
        assert.equal(((await holder.result()) as RunResult).state, 'COMPLETED');
        assert.equal(await lockStatus(), 'COMPLETED', "the holder's own release ends the lock");
      },
      stubActivities(calls),
    );
  });

  it('a lock started by hand ends at once and holds nothing', async function () {
    await withWorker(
      taskQueue,
      async () => {
        await temporalStart(taskQueue, 'environmentLock', environmentLockId(ENV), { env: ENV });
        const client = await testClient();
        await client.workflow.getHandle(environmentLockId(ENV)).result();
        assert.equal(await lockStatus(), 'COMPLETED');
        assert.equal(await secondRunAdmitted(taskQueue), true);
      },
      stubActivities(calls),
    );
  });

  it("a workflow of another type squatting the lock's id is cleared and the run takes the lock", async function () {
    // The real lockHolder: it only asks Temporal.
    const withRealLockHolder = { ...stubActivities(calls), lockHolder };
    // On a queue no worker polls: it would stay Running for ever.
    await temporalStart(uniqueQueue('squatter'), 'squat', environmentLockId(ENV), { env: ENV });
    await withWorker(
      taskQueue,
      async () => {
        const run = await startTestRun(taskQueue, { runbook: 'smoke', env: ENV });
        await waitForProgress(run, atGate('go-ahead'));
        const client = await testClient();
        const lock = await client.workflow.getHandle(environmentLockId(ENV)).describe();
        assert.equal(lock.type, 'environmentLock');
        assert.equal(lock.parentExecution?.workflowId, run.workflowId);
        await run.cancel();
      },
      withRealLockHolder,
    );
  });

  it('a run whose lock is terminated under it stops acting, takes the lock again and undoes', async function () {
    calls.length = 0;
    await withWorker(
      taskQueue,
      async () => {
        const run = await startTestRun(taskQueue, { runbook: 'smoke', env: ENV });
        await waitForProgress(run, atGate('go-ahead'));
        const first = await (await testClient()).workflow.getHandle(environmentLockId(ENV)).describe();
        const killed = await temporalCliResult(['workflow', 'terminate', '--workflow-id', environmentLockId(ENV)]);
        assert.equal(killed.code, 0, killed.stderr);
        await run.signal(approvalSignal, { approver: 'alice', decision: 'approve' });
        const err = await run.result().then(
          () => undefined,
          (e: unknown) => e as { cause?: { type?: string; message?: string } },
        );
        assert.equal(err?.cause?.type, 'RunbookCompensated', JSON.stringify(err?.cause?.message));
        assert.match(err?.cause?.message ?? '', /the lock of locking ended while this run held it/);
        assert.deepEqual(calls.filter((c) => c.type === 'removeMarker').length, 2, 'both markers are undone');
        // The undo ran under a lock of its own, taken again and released.
        const again = await (await testClient()).workflow.getHandle(environmentLockId(ENV)).describe();
        assert.notEqual(again.runId, first.runId);
        assert.equal(again.parentExecution?.workflowId, run.workflowId);
        assert.equal(again.status.name, 'COMPLETED');
      },
      stubActivities(calls),
    );
  });
});
