// migrate-then-code on the test bed: the schema in PostgreSQL and the version served through
// the load balancer after a refused contract (past the point of no return: SETTLED_THEN_FAILED),
// a full release, and a failing expand migration.
import { strict as assert } from 'node:assert';
import { checkedOutCommit, colours } from '../activities';
import { migrationStatus } from '../activities/database';
import { runCommand } from '../activities/hosts';
import { approvalSignal, type RunResult } from '../common/shared';
import { atGate, startTestRun, uniqueQueue, waitForProgress, withWorker } from './helpers';
import { recordHistory } from './history-recorder';
import { failed } from './run-ended';
import { FailureType } from '../common/failure-types';

async function servedCommit(): Promise<string> {
  const res = await fetch('http://10.213.0.30/health', { signal: AbortSignal.timeout(3000) });
  assert.equal(res.status, 200);
  return ((await res.json()) as { commit: string }).commit;
}

async function schema(): Promise<string[]> {
  const { live } = await colours({ env: 'local' });
  return (await migrationStatus({ env: 'local', host: live })).applied;
}

async function release(taskQueue: string, ref: string) {
  return startTestRun(taskQueue, {
    runbook: 'migrate-then-code',
    env: 'local',
    params: { ref, 'rollback-window': '1ms' },
  });
}

describe('migrate-then-code on the test bed', function () {
  const taskQueue = uniqueQueue('mtc');

  it('leaves the new code serving on the expanded schema when the contract migration is refused', async function () {
    await withWorker(taskQueue, async () => {
      const before = await schema();
      assert.ok(!before.includes('0003'), `the contract migration is already applied: ${before.join(', ')}`);
      const handle = await release(taskQueue, 'v1.2.0');
      await waitForProgress(handle, atGate('contract migration'), 'the contract gate');
      await handle.signal(approvalSignal, { approver: 'bob', decision: 'reject', comment: 'after the sale' });
      const { failure, result } = await failed(handle.result());
      assert.deepEqual(result.progress.compensations, [], 'the deployed code is kept');
      // The code switch settled: the run says what stands and how to finish, never "compensated".
      assert.equal(failure.type, FailureType.RunbookSettledThenFailed, failure.message);
      assert.equal(result.state, 'SETTLED_THEN_FAILED');
      const f = result.progress.settledFailure!;
      assert.match(f.stands, /^web-(blue|green) serves [0-9a-f]{12} and web-(blue|green) is stopped$/);
      assert.equal(f.failedStep, undefined, 'no step failed: the contract was refused');
      assert.match(f.error, /rejected by bob/);
      assert.match(
        f.todo.join('\n'),
        /contract migration did not complete[^]*runbook start migrate-then-code --env local --ref v1\.2\.0$/,
      );
      const { live } = await colours({ env: 'local' });
      assert.equal(await servedCommit(), await checkedOutCommit({ env: 'local', host: live }));
      assert.match(
        (await runCommand({ env: 'local', host: live, argv: ['cat', '/srv/app/VERSION'] })).stdout,
        /^1\.2\.0/,
      );
      assert.deepEqual(await schema(), ['0001', '0002'], 'expanded, not contracted');
    });
  });

  it('backs up, expands, deploys and, once approved, contracts', async function () {
    await withWorker(taskQueue, async () => {
      const handle = await release(taskQueue, 'v1.2.0');
      await waitForProgress(handle, atGate('contract migration'), 'the contract gate');
      await handle.signal(approvalSignal, { approver: 'alice', decision: 'approve' });
      const result = (await handle.result()) as RunResult;
      assert.equal(result.state, 'COMPLETED');
      assert.deepEqual(await schema(), ['0001', '0002', '0003']);
      const backup = await runCommand({
        env: 'local',
        host: 'db',
        argv: ['test', '-s', `/var/backups/runbook/${handle.workflowId}-safety.dump`],
        okExitCodes: [0, 1],
      });
      assert.equal(backup.exitCode, 0, 'the safety backup exists and is not empty');
      await recordHistory(handle, 'migrate-then-code-completed');
    });
  });

  it('leaves the schema and the serving code as they were when the expand migration fails', async function () {
    await withWorker(taskQueue, async () => {
      const schemaBefore = await schema();
      const servedBefore = await servedCommit();
      const handle = await release(taskQueue, 'v1.4.0-broken-migration');
      const { failure, result } = await failed(handle.result());
      assert.equal(failure.type, FailureType.RunbookCompensated);
      assert.match(result.progress.reason ?? '', /migrate.*exited with 1/);
      assert.deepEqual(await schema(), schemaBefore);
      const table = await runCommand({
        env: 'local',
        host: 'db',
        cwd: '/',
        argv: [
          'runuser',
          '-u',
          'postgres',
          '--',
          'psql',
          '-tAc',
          "select to_regclass('public.audit_log') is null",
          'app',
        ],
      });
      assert.equal(table.stdout.trim(), 't', 'the failed migration left no table behind');
      assert.equal(await servedCommit(), servedBefore);
    });
  });
});
