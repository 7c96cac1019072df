// One mutating run per environment: a second is refused at once, naming the holder; the
// environment is free again when the holder ends, however it ends; a released lock ends
// Completed, never Canceled, and the Web UI's runs-only filter does not list locks.
import { strict as assert } from 'node:assert';
import { approvalSignal, environmentLockId, progressQuery } from '../common/shared';
import { RUNS_ONLY_QUERY } from '../cli/output';
import { prepareRun, startRun } from '../src/start';
import { atGate, runbookCli, startTestRun, testClient, uniqueQueue, waitForProgress, withWorker } from './helpers';

describe('environment lock', function () {
  const taskQueue = uniqueQueue('lock');

  // A failed test must not leave the environment held for the next one.
  afterEach(async function () {
    const client = await testClient();
    for await (const run of client.workflow.list({ query: `RunbookEnv = 'locking' AND ExecutionStatus = 'Running'` })) {
      await client.workflow
        .getHandle(run.workflowId)
        .terminate('test cleanup')
        .catch(() => undefined);
    }
  });

  it('refuses a second mutating run on a held environment, naming the holder; admits one once free', async function () {
    await withWorker(taskQueue, async () => {
      const client = await testClient();
      const holder = await startTestRun(taskQueue, { runbook: 'smoke', env: 'locking' });
      await waitForProgress(holder, atGate('go-ahead'));

      const second = prepareRun({ runbook: 'smoke', env: 'locking', params: {}, initiator: 'operator' });
      const { handle, admission } = await startRun(client, second, taskQueue);
      assert.deepEqual(admission, {
        admitted: false,
        heldBy: holder.workflowId,
        reason: `locking is held by ${holder.workflowId}`,
      });
      await assert.rejects(handle.result(), (err: Error) =>
        /refused: locking is held by/.test(String((err.cause as Error | undefined)?.message)),
      );
      assert.equal((await handle.query(progressQuery)).state, 'REFUSED');

      const cli = await runbookCli(['start', 'smoke', '--env', 'locking'], { RUNBOOK_TASK_QUEUE: taskQueue });
      assert.equal(cli.code, 4);
      assert.equal(
        cli.stderr.trim(),
        `refused: locking is held by ${holder.workflowId} (runbook status ${holder.workflowId})`,
      );

      await holder.signal(approvalSignal, { approver: 'alice', decision: 'approve' });
      await holder.result();
      const third = await startTestRun(taskQueue, { runbook: 'smoke', env: 'locking' });
      await waitForProgress(third, atGate('go-ahead'));
      await third.cancel();
      await assert.rejects(third.result());
    });
  });

  it('keeps the environment while a cancelled run undoes its steps, and frees it after', async function () {
    await withWorker(taskQueue, async () => {
      const holder = await startTestRun(taskQueue, { runbook: 'smoke', env: 'locking' });
      await waitForProgress(holder, atGate('go-ahead'));
      await holder.cancel();
      await assert.rejects(holder.result(), /cancel/i);
      const next = await startTestRun(taskQueue, { runbook: 'smoke', env: 'locking' });
      await waitForProgress(next, atGate('go-ahead'));
      await next.signal(approvalSignal, { approver: 'bob', decision: 'reject', comment: 'just checking' });
      await assert.rejects(next.result(), (err: Error) =>
        /rejected by bob/.test(String((err.cause as Error | undefined)?.message)),
      );
    });
  });
});

describe('environment lock: how a released lock ends', function () {
  const taskQueue = uniqueQueue('lock-ends');

  async function lockStatus(): Promise<string> {
    return (await (await testClient()).workflow.getHandle(environmentLockId('locking')).describe()).status.name;
  }

  it('ends Completed when its run completes, and when its run is cancelled', async function () {
    await withWorker(taskQueue, async () => {
      const approved = await startTestRun(taskQueue, { runbook: 'smoke', env: 'locking' });
      await waitForProgress(approved, atGate('go-ahead'));
      assert.equal(await lockStatus(), 'RUNNING');
      await approved.signal(approvalSignal, { approver: 'alice', decision: 'approve' });
      await approved.result();
      assert.equal(await lockStatus(), 'COMPLETED');

      const cancelled = await startTestRun(taskQueue, { runbook: 'smoke', env: 'locking' });
      await waitForProgress(cancelled, atGate('go-ahead'));
      await cancelled.cancel();
      await assert.rejects(cancelled.result(), /cancel/i);
      assert.equal(await lockStatus(), 'COMPLETED');
    });
  });

  it('leaves no lock Canceled after the runs so far (deploys too); runs-only filter lists no lock', async function () {
    const client = await testClient();
    // Visibility is eventually consistent: ask again for a few seconds until it holds.
    const count = async (query: string, holds: (n: number) => boolean = () => true) => {
      let n = 0;
      for (let i = 0; i < 50 && !holds((n = (await client.workflow.count(query)).count)); i++)
        await new Promise((r) => setTimeout(r, 200));
      return n;
    };
    assert.equal(await count(`WorkflowType = 'environmentLock' AND ExecutionStatus = 'Canceled'`), 0);
    assert.ok(
      (await count(`WorkflowType = 'environmentLock' AND ExecutionStatus = 'Completed'`, (n) => n >= 2)) >= 2,
      'released locks are there, Completed',
    );
    assert.equal(await count(`(${RUNS_ONLY_QUERY}) AND WorkflowType = 'environmentLock'`), 0);
    assert.ok((await count(RUNS_ONLY_QUERY, (n) => n >= 2)) >= 2);
  });
});

describe('environment lock and read-only runs', function () {
  it('does not block a read-only run (mutating: false) while a mutating run holds the environment', async function () {
    const taskQueue = uniqueQueue('lock-readonly');
    await withWorker(taskQueue, async () => {
      const client = await testClient();
      const holder = await startTestRun(taskQueue, { runbook: 'smoke', env: 'local' });
      try {
        await waitForProgress(holder, atGate('go-ahead'));
        const readOnly = await client.workflow.execute('threeSteps', {
          taskQueue,
          workflowId: `${holder.workflowId}-read-only`,
          args: [
            {
              runbook: 'three-steps',
              env: 'local',
              params: {},
              initiator: 'operator',
              approval: { required: 1, approvers: [], timeoutMs: 60_000 },
              mutating: false,
            },
          ],
        });
        assert.equal(readOnly.state, 'COMPLETED');
      } finally {
        await holder.terminate('test done');
      }
    });
  });
});
