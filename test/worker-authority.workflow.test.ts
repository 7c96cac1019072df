// The worker is the authority on a run's rules. A run started by hand with the pinned Temporal
// CLI and an input that loosens them (no approvals, a stranger as approver, no lock, a long
// wait) still waits at its gate for the inventory's approvers and holds its environment; a
// request that cannot be followed is refused on the worker; signals cannot grow the run's
// record without bound: a 2 MB signal and 10,000 refused ones leave it able to end and unlock.
import { strict as assert } from 'node:assert';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { newRunId } from '../src/run-id';
import { approvalSignal, environmentLockId, progressQuery, type RunProgress, type RunResult } from '../common/shared';
import { MAX_REFUSED_KEPT } from '../workflows/kernel/bounds';
import { atGate, runbookCli, startTestRun, testClient, uniqueQueue, waitForProgress, withWorker } from './helpers';
import { startWorkerProcess } from './worker-process';
import { temporalStart } from './attacker/stock-cli';

async function lockHeld(env: string): Promise<boolean> {
  const client = await testClient();
  try {
    const { status } = await client.workflow.getHandle(environmentLockId(env)).describe();
    return status.name === 'RUNNING';
  } catch {
    return false;
  }
}

async function failureOf(handle: WorkflowHandle): Promise<{ type?: string; message: string }> {
  const err = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError, `expected the run to fail, got ${String(err)}`);
  const cause = err.cause as { type?: string; message: string };
  return { type: cause.type, message: cause.message };
}

describe('the worker decides the rules', function () {
  const taskQueue = uniqueQueue('authority');

  afterEach(async function () {
    const client = await testClient();
    for await (const run of client.workflow.list({
      query: `RunbookEnv IN ('two-eyes', 'test') AND ExecutionStatus = 'Running'`,
    })) {
      await client.workflow
        .getHandle(run.workflowId)
        .terminate('test cleanup')
        .catch(() => undefined);
    }
  });

  it('an input loosening the rules still holds the environment and waits for inventory approvers', async function () {
    await withWorker(taskQueue, async () => {
      const client = await testClient();
      const runId = newRunId('smoke', 'two-eyes');
      await temporalStart(taskQueue, 'smoke', runId, {
        runbook: 'smoke',
        env: 'two-eyes',
        params: {},
        initiator: 'mallory',
        approval: { required: 0, approvers: ['mallory'], timeoutMs: 10 * 86_400_000 },
        mutating: false,
        onFailure: { policy: 'compensate', timeoutMs: 1 },
      });
      const handle = client.workflow.getHandle(runId);
      const waiting = await waitForProgress(handle, atGate('go-ahead'), 'the go-ahead gate');
      assert.equal(waiting.gate!.required, 2);
      assert.deepEqual(waiting.gate!.approvers, ['alice', 'bob', 'carol']);
      const wait = Date.parse(waiting.gate!.deadline) - Date.parse(waiting.gate!.openedAt);
      assert.ok(wait <= 10 * 60_000 + 1000, `the gate waits ${wait}ms, more than two-eyes allows (10m)`);
      assert.equal(await lockHeld('two-eyes'), true, 'the run holds two-eyes although its input said mutating: false');
      assert.deepEqual(waiting.policy?.applied.mutating, true);
      assert.ok(
        waiting.policy!.overruled.some((o) => /asked for 0 approval\(s\); two-eyes requires 2/.test(o)),
        JSON.stringify(waiting.policy),
      );
      assert.ok(waiting.policy!.overruled.some((o) => /asked to take no lock/.test(o)));

      // The input named mallory an approver: the inventory does not, and mallory started the run.
      await handle.signal(approvalSignal, { approver: 'mallory', decision: 'approve' });
      await handle.signal(approvalSignal, { approver: 'eve', decision: 'approve' });
      await handle.signal(approvalSignal, { approver: 'alice', decision: 'approve' });
      const one = await waitForProgress(handle, (p) => p.approvals.length === 3, 'the three decisions recorded');
      assert.match(one.approvals[0].refused ?? '', /mallory started this run and cannot also decide on it/);
      assert.match(one.approvals[1].refused ?? '', /eve is not an approver for two-eyes/);
      assert.equal(one.state, 'WAITING_APPROVAL', 'one approval of the two required');
      await handle.signal(approvalSignal, { approver: 'bob', decision: 'approve' });
      assert.equal(((await handle.result()) as RunResult).state, 'COMPLETED');
      assert.equal(await lockHeld('two-eyes'), false, 'the lock is released when the run ends');

      const history = await runbookCli(['history', runId], { RUNBOOK_TASK_QUEUE: taskQueue });
      assert.equal(history.code, 0, history.stderr);
      assert.match(
        history.stdout,
        new RegExp(
          /asked: approvalTimeoutMs 864000000, approvalsRequired 0, mutating false, /.source +
            /onFailure "compensate", failureTimeoutMs 1/.source,
        ),
      );
      assert.match(
        history.stdout,
        new RegExp(
          /applied \(decided on the worker\): 2 approval\(s\) from alice, bob, carol within 10m; /.source +
            /holds the environment; on failure compensate/.source,
        ),
      );
      assert.match(history.stdout, /overruled: asked to wait 10d at gates; two-eyes allows 10m/);
    });
  });

  it('refuses before any step an input naming another runbook or waiting beyond the limit', async function () {
    await withWorker(taskQueue, async () => {
      const client = await testClient();
      const disguised = newRunId('smoke', 'two-eyes');
      // A read-only runbook's name on a mutating workflow: the workflow type decides.
      await temporalStart(taskQueue, 'smoke', disguised, {
        runbook: 'health-check',
        env: 'two-eyes',
        params: {},
        initiator: 'mallory',
      });
      const refused = await failureOf(client.workflow.getHandle(disguised));
      assert.equal(refused.type, 'BadInput');
      assert.match(refused.message, /refused: a smoke run is runbook smoke, not "health-check"/);

      const forever = newRunId('smoke', 'test');
      await temporalStart(taskQueue, 'smoke', forever, {
        runbook: 'smoke',
        env: 'test',
        params: {},
        initiator: 'operator',
        asked: { approvalTimeoutMs: 100_000_000 * 86_400_000 },
      });
      const tooLong = await failureOf(client.workflow.getHandle(forever));
      assert.equal(tooLong.type, 'BadInput');
      assert.match(tooLong.message, /approval timeout .* is longer than the limit, 30d/);
      assert.equal((await client.workflow.getHandle(forever).query(progressQuery)).state, 'REFUSED');

      const stray = newRunId('smoke', 'test');
      await temporalStart(taskQueue, 'smoke', stray, {
        runbook: 'smoke',
        env: 'test',
        params: { extra: 'x' },
        initiator: 'operator',
      });
      assert.match((await failureOf(client.workflow.getHandle(stray))).message, /smoke has no parameter "extra"/);
      assert.equal(await lockHeld('test'), false);
    });
  });

  it('refuses a rotate-db-password started by hand with an API token as the new password', async function () {
    await withWorker(taskQueue, async () => {
      const runId = newRunId('rotate-db-password', 'secret-use');
      const params = { secret: 'apiToken' };
      await temporalStart(taskQueue, 'rotateDbPassword', runId, {
        runbook: 'rotate-db-password',
        env: 'secret-use',
        params,
        initiator: 'mallory',
      });
      const refused = await failureOf((await testClient()).workflow.getHandle(runId));
      assert.equal(refused.type, 'BadInput');
      assert.match(refused.message, /refused: secret apiToken of secret-use is not marked as a database password/);
      assert.equal(await lockHeld('secret-use'), false);
    });
  });

  it('refuses a loosening request and an absurd duration at start, before connecting', async function () {
    const unreachable = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
    const absurd = await runbookCli(
      ['start', 'smoke', '--env', 'test', '--approval-timeout', '100000000d'],
      unreachable,
    );
    assert.equal(absurd.code, 2);
    assert.match(absurd.stderr, /--approval-timeout: 100000000d is longer than the limit/);
    const longer = await runbookCli(['start', 'smoke', '--env', 'test', '--approval-timeout', '2h'], unreachable);
    assert.equal(longer.code, 2);
    assert.match(longer.stderr, /a request may only tighten the rules: asked to wait 2h at gates; test allows 10m/);
    const dryQueue = uniqueQueue('authority-dry-run');
    const more = await withWorker(dryQueue, () =>
      runbookCli(['start', 'smoke', '--env', 'test', '--approvals', '2', '--dry-run', '--json'], {
        RUNBOOK_TASK_QUEUE: dryQueue,
      }),
    );
    assert.equal(more.code, 0, more.stderr);
    assert.equal(JSON.parse(more.stdout).policy.approval.required, 2);
    const window = await runbookCli(
      ['start', 'deploy', '--env', 'test', '--ref', 'v1', '--rollback-window', '100000000d', '--dry-run'],
      unreachable,
    );
    assert.equal(window.code, 2);
    assert.match(
      window.stderr,
      /--rollback-window "100000000d" is not valid: rollback-window is a duration.*longer than the limit/,
    );
  });
});

describe('bounded signals', function () {
  const taskQueue = uniqueQueue('bounded');

  it('a 2 MB signal and 10,000 refused ones leave the run able to end and release its lock', async function () {
    this.timeout(15 * 60_000);
    // The production worker in a process of its own, as it runs: the flood must not take it down.
    const worker = await startWorkerProcess(taskQueue);
    const handle = await startTestRun(taskQueue, { runbook: 'smoke', env: 'test' });
    try {
      await waitForProgress(handle, atGate('go-ahead'));
      await handle.signal(approvalSignal, { approver: 'alice', decision: 'approve', comment: 'x'.repeat(1_900_000) });
      // 10,000 in all, each refused by the run; past 100 they are counted, not kept. 10,000 is also
      // Temporal's own cap of signals per run: the approval after them is an update, not counted.
      const refusals = 10_000;
      // A few at a time: the flood is the run's to take, not the test client's.
      const batch = 50;
      for (let sent = 1; sent < refusals; sent += batch) {
        await Promise.all(
          Array.from({ length: Math.min(batch, refusals - sent) }, (_, i) =>
            handle.signal(approvalSignal, { approver: `mallory-${sent + i}`, decision: 'approve' }),
          ),
        );
      }
      // The run has taken every one of them in: kept up to the cap, counted past it.
      const counted = (p: RunProgress) => p.approvals.filter((a) => a.refused).length + (p.refusedNotKept ?? 0);
      await waitForProgress(handle, (p) => counted(p) === refusals, 'the run to take in the flood').catch(
        (err: Error) => {
          throw new Error(`${err.message}\nworker (exit ${worker.exitCode()}):\n${worker.output().slice(-3000)}`);
        },
      );
      // The CLI decides through an update.
      const approved = await runbookCli(['approve', handle.workflowId, '--as', 'bob', '--comment', 'after the flood'], {
        RUNBOOK_TASK_QUEUE: taskQueue,
      });
      assert.equal(approved.code, 0, approved.stderr);
      const result = (await handle.result()) as RunResult;
      assert.equal(worker.exitCode(), null, `the worker died:\n${worker.output().slice(-3000)}`);
      assert.equal(result.state, 'COMPLETED');
      const p = result.progress;
      const refused = p.approvals.filter((a) => a.refused);
      assert.equal(refused.length, MAX_REFUSED_KEPT);
      assert.equal(p.refusedNotKept, refusals - MAX_REFUSED_KEPT);
      assert.match(refused[0].refused ?? '', /"comment" must be text/);
      assert.ok((refused[0].comment ?? '').length <= 2001, 'the 2 MB comment is cut in the record');
      assert.deepEqual(
        p.approvals.filter((a) => !a.refused).map((a) => [a.approver, a.via]),
        [['bob', 'update']],
      );
      assert.ok(
        JSON.stringify(result).length < 200_000,
        `the run's record is ${JSON.stringify(result).length} characters`,
      );
      assert.equal(await lockHeld('test'), false, 'the lock is released');
    } finally {
      await handle.terminate('test done').catch(() => undefined);
      await worker.kill('SIGTERM');
    }
  });
});
