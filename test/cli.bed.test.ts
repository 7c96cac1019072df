// The `runbook` command as operators run it: a real process against the real server.
import { strict as assert } from 'node:assert';
import { atGate, runbookCli, testClient, uniqueQueue, waitForProgress, withWorker, type Ran } from './helpers';

/** A refused input: non-zero, one line on stderr, no stack trace, nothing on stdout. */
function assertOneLineRefusal(ran: Ran, pattern: RegExp): void {
  assert.notEqual(ran.code, 0, `expected a non-zero exit; stdout: ${ran.stdout}`);
  const lines = ran.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${ran.stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(ran.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(ran.stdout, '');
}

describe('runbook CLI', function () {
  it('refuses an unknown runbook with one line', async function () {
    assertOneLineRefusal(
      await runbookCli(['start', 'deploy-everything', '--env', 'test']),
      /unknown runbook "deploy-everything" \(known: smoke/,
    );
  });

  it('refuses a missing --env, an unknown environment and a hostile one before connecting', async function () {
    const unreachable = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
    assertOneLineRefusal(await runbookCli(['start', 'smoke'], unreachable), /needs --env/);
    assertOneLineRefusal(
      await runbookCli(['start', 'smoke', '--env', 'nowhere'], unreachable),
      /unknown environment "nowhere" \(known: local, locking, secret-use, test, two-eyes/,
    );
    assertOneLineRefusal(
      await runbookCli(['start', 'smoke', '--env', '$(id)'], unreachable),
      /invalid environment name "\$\(id\)"/,
    );
    assertOneLineRefusal(
      await runbookCli(['start', 'smoke', '--env', 'test', '--bogus', 'x'], unreachable),
      /Unknown option '--bogus'/,
    );
    assertOneLineRefusal(
      await runbookCli(['start', 'smoke', '--env', 'test', '--approval-timeout', 'soon'], unreachable),
      /expected a duration/,
    );
    assertOneLineRefusal(await runbookCli(['status', '../../etc/passwd'], unreachable), /invalid run id/);
    assertOneLineRefusal(await runbookCli(['frobnicate'], unreachable), /unknown command "frobnicate"/);
  });

  it('says in one line when the server cannot be reached', async function () {
    const ran = await runbookCli(['start', 'smoke', '--env', 'test'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    assertOneLineRefusal(ran, /cannot reach Temporal at 127\.0\.0\.1:1/);
    assert.equal(ran.code, 3);
  });

  it('prints the plan of a dry run as one JSON object and starts nothing', async function () {
    const taskQueue = uniqueQueue('cli-dry-run');
    const ran = await withWorker(taskQueue, () =>
      runbookCli(['start', 'smoke', '--env', 'test', '--dry-run', '--json'], { RUNBOOK_TASK_QUEUE: taskQueue }),
    );
    assert.equal(ran.code, 0, ran.stderr);
    const plan = JSON.parse(ran.stdout);
    assert.equal(plan.dryRun, true);
    assert.deepEqual(
      plan.plan.map((p: { step?: string; gate?: string }) => p.step ?? `gate ${p.gate}`),
      ['prepare', 'announce', 'gate go-ahead'],
    );
    // Its marker steps act: planned, never run.
    assert.deepEqual(
      plan.plan.filter((p: { ran?: boolean }) => p.ran),
      [],
    );
  });

  it('says when no worker answers a dry run', async function () {
    const ran = await runbookCli(['start', 'smoke', '--env', 'test', '--dry-run'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    assert.equal(ran.code, 3, ran.stderr);
  });

  it('starts, shows, approves and lists a run, with --json results', async function () {
    const taskQueue = uniqueQueue('cli');
    await withWorker(taskQueue, async () => {
      const env = { RUNBOOK_TASK_QUEUE: taskQueue };
      const started = await runbookCli(['start', 'smoke', '--env', 'test', '--as', 'operator', '--json'], env);
      assert.equal(started.code, 0, started.stderr);
      const { runId, url } = JSON.parse(started.stdout);
      assert.match(runId, /^smoke-test-\d{8}T\d{6}Z-[0-9a-f]{4}$/);
      assert.ok(url.endsWith(`/namespaces/default/workflows/${runId}`));
      const handle = (await testClient()).workflow.getHandle(runId);
      await waitForProgress(handle, atGate('go-ahead'));

      const status = await runbookCli(['status', runId]);
      assert.match(status.stdout, /WAITING_APPROVAL/);
      // The same view as watch: the gate, then who may approve (not the initiator) and how.
      assert.match(
        status.stdout,
        new RegExp(`⏸ gate go-ahead: waiting .*\\n +approve: runbook approve ${runId} --as (alice|bob) `),
      );

      const selfApproval = await runbookCli(['approve', runId, '--as', 'operator', '--json']);
      assert.equal(selfApproval.code, 1);
      assert.match(JSON.parse(selfApproval.stdout).refused, /four eyes/);

      const approved = await runbookCli(['approve', runId, '--as', 'alice', '--comment', 'ship it', '--json']);
      assert.equal(approved.code, 0, approved.stderr);
      assert.equal(JSON.parse(approved.stdout).recorded.approver, 'alice');
      await handle.result();

      const done = JSON.parse((await runbookCli(['status', runId, '--json'])).stdout);
      assert.equal(done.status, 'COMPLETED');
      assert.equal(done.progress.state, 'COMPLETED');

      // Visibility is eventually consistent: ask until the run's final state is listed.
      let listed: { runId: string; state: string } | undefined;
      for (let i = 0; i < 50 && listed?.state !== 'COMPLETED'; i++) {
        const list = JSON.parse((await runbookCli(['list', '--env', 'test', '--runbook', 'smoke', '--json'])).stdout);
        listed = list.runs.find((r: { runId: string }) => r.runId === runId);
        if (listed?.state !== 'COMPLETED') await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(listed?.state, 'COMPLETED');
    });
  });

  it('cancels a waiting run, which then undoes its steps', async function () {
    const taskQueue = uniqueQueue('cli-cancel');
    await withWorker(taskQueue, async () => {
      const started = await runbookCli(['start', 'smoke', '--env', 'test', '--json'], {
        RUNBOOK_TASK_QUEUE: taskQueue,
      });
      const { runId } = JSON.parse(started.stdout);
      const handle = (await testClient()).workflow.getHandle(runId);
      await waitForProgress(handle, atGate('go-ahead'));
      const cancelled = await runbookCli(['cancel', runId]);
      assert.equal(cancelled.code, 0, cancelled.stderr);
      await assert.rejects(handle.result(), /cancelled/i);
      const status = JSON.parse((await runbookCli(['status', runId, '--json'])).stdout);
      assert.equal(status.status, 'CANCELLED');
      assert.deepEqual(
        status.progress.compensations.map((c: { step: string }) => c.step),
        ['announce', 'prepare'],
      );
    });
  });
});
