// Blue/green deploy on the test bed: the new release serves through the load balancer with no
// failed request on the way; a release whose health check fails, or a rejected switch, leaves
// the old colour serving.
import { strict as assert } from 'node:assert';
import { checkedOutCommit, colours } from '../activities';
import { runCommand } from '../activities/hosts';
import { approvalSignal, type RunResult } from '../common/shared';
import { appRunning, LB, onConsole, served } from './bed-checks';
import { compensated } from './run-ended';
import { describeCounts, watchLb } from './lb-watch';
import { atGate, startTestRun, uniqueQueue, waitForProgress, withWorker } from './helpers';
import { recordHistory } from './history-recorder';

describe('deploy (blue/green) on the test bed', function () {
  const taskQueue = uniqueQueue('deploy');

  it('deploys a tag to the idle colour, switches with no failed request, and stops the old colour', async function () {
    await withWorker(taskQueue, async () => {
      const before = await colours({ env: 'local' });
      const watcher = watchLb(LB);
      const handle = await startTestRun(taskQueue, {
        runbook: 'deploy',
        params: { ref: 'v1.1.0', 'rollback-window': '1s' },
        env: 'local',
      });
      const result = (await handle.result()) as RunResult;
      const counts = await watcher.stop();
      console.log(`      ${describeCounts('deploy through the load balancer', counts)}`);
      assert.equal(result.state, 'COMPLETED');
      // The promise: no request on a fresh connection fails. Keep-alive resets are reported above.
      assert.equal(counts.failed, 0, `${describeCounts('deploy', counts)}: ${counts.errors.join('; ')}`);
      assert.ok(counts.total > 20, `only ${counts.total} requests were made`);
      const commit = await checkedOutCommit({ env: 'local', host: before.idle });
      assert.deepEqual(await served(), { status: 200, commit });
      assert.deepEqual(await colours({ env: 'local' }), { live: before.idle, idle: before.live });
      assert.equal(await appRunning(before.live), false, 'the old colour is stopped after the rollback window');
      await recordHistory(handle, 'deploy-completed');
    });
  });

  it('rolls back when the release fails its health check: the old colour keeps serving', async function () {
    await withWorker(taskQueue, async () => {
      const before = await colours({ env: 'local' });
      const servedBefore = await served();
      const handle = await startTestRun(taskQueue, {
        runbook: 'deploy',
        params: { ref: 'v1.3.0-broken-health', 'rollback-window': '1s' },
        env: 'local',
      });
      const result = await compensated(handle.result());
      assert.match(result.progress.reason ?? '', /health check answered 500/);
      assert.deepEqual(await served(), servedBefore);
      assert.deepEqual(await colours({ env: 'local' }), before);
      assert.equal(await appRunning(before.idle), false, 'the broken release is stopped');
      await recordHistory(handle, 'deploy-unhealthy');
    });
  });

  it('rolls back when the switch is rejected at its approval gate', async function () {
    await withWorker(taskQueue, async () => {
      const before = await colours({ env: 'local' });
      const servedBefore = await served();
      const handle = await startTestRun(taskQueue, {
        runbook: 'deploy',
        params: { ref: 'v1.0.0', gate: true, 'rollback-window': '1s' },
        env: 'local',
      });
      await waitForProgress(handle, atGate('switch traffic'), 'the switch gate');
      assert.equal(await appRunning(before.idle), true, 'the new release runs on the idle colour while waiting');
      await handle.signal(approvalSignal, { approver: 'bob', decision: 'reject', comment: 'not during the sale' });
      await compensated(handle.result());
      assert.deepEqual(await served(), servedBefore);
      assert.deepEqual(await colours({ env: 'local' }), before);
      assert.equal(await appRunning(before.idle), false);
    });
  });

  it('runs git as the app user: a symlink planted in its checkout is not written through', async function () {
    await withWorker(taskQueue, async () => {
      const before = await colours({ env: 'local' });
      const idle = before.idle;
      const shadow = () => onConsole(idle, 'sha256sum /etc/shadow');
      const shadowBefore = await shadow();
      // What a compromised app could do to its own checkout: git run by root would write the
      // fetched refs through this link into /etc/shadow.
      await onConsole(idle, 'runuser -u app -- ln -sfn /etc/shadow /srv/app/.git/FETCH_HEAD');
      try {
        const handle = await startTestRun(taskQueue, {
          runbook: 'deploy',
          params: { ref: 'v1.1.0', 'rollback-window': '1s' },
          env: 'local',
        });
        const result = await compensated(handle.result());
        assert.match(result.progress.reason ?? '', /FETCH_HEAD.*Permission denied/);
        assert.equal(await shadow(), shadowBefore, '/etc/shadow is unchanged');
        assert.equal((await onConsole(idle, 'readlink /srv/app/.git/FETCH_HEAD')).trim(), '/etc/shadow');
        assert.deepEqual(await colours({ env: 'local' }), before);
      } finally {
        await onConsole(idle, 'rm -f /srv/app/.git/FETCH_HEAD');
      }

      // With the link gone the deploy goes through, and git's hooks run as the app user.
      const hook =
        'cd /srv/app && printf "#!/bin/sh\\nid -un > .git/hook-ran-as\\n" > .git/hooks/post-checkout' +
        ' && chmod 0755 .git/hooks/post-checkout';
      await onConsole(idle, `runuser -u app -- sh -c '${hook}'`);
      try {
        const handle = await startTestRun(taskQueue, {
          runbook: 'deploy',
          params: { ref: 'v1.1.0', 'rollback-window': '1s' },
          env: 'local',
        });
        const result = (await handle.result()) as RunResult;
        assert.equal(result.state, 'COMPLETED', result.progress.reason);
        assert.equal((await onConsole(idle, 'cat /srv/app/.git/hook-ran-as')).trim(), 'app');
        assert.equal(await shadow(), shadowBefore);
      } finally {
        await onConsole(idle, 'rm -f /srv/app/.git/hooks/post-checkout /srv/app/.git/hook-ran-as');
      }
    });
  });

  it('refuses an unknown ref without changing anything', async function () {
    await withWorker(taskQueue, async () => {
      const before = await colours({ env: 'local' });
      const servedBefore = await served();
      const handle = await startTestRun(taskQueue, { runbook: 'deploy', params: { ref: 'v9.9.9' }, env: 'local' });
      const result = await compensated(handle.result());
      assert.match(result.progress.reason ?? '', /ref "v9\.9\.9" names no commit/);
      assert.deepEqual(result.progress.compensations, [], 'nothing had changed, so nothing was undone');
      assert.deepEqual(await served(), servedBefore);
      assert.deepEqual(await colours({ env: 'local' }), before);
    });
  });

  it('rolls back when the idle colour cannot be started (its process manager is down)', async function () {
    await withWorker(taskQueue, async () => {
      const before = await colours({ env: 'local' });
      const servedBefore = await served();
      await runCommand({ env: 'local', host: before.idle, argv: ['service', 'supervisor', 'stop'] });
      try {
        const handle = await startTestRun(taskQueue, {
          runbook: 'deploy',
          params: { ref: 'v1.1.0', 'rollback-window': '1s' },
          env: 'local',
        });
        const result = await compensated(handle.result());
        assert.equal(result.progress.steps.find((s) => s.name === `start ${before.idle}`)?.status, 'compensated');
        assert.deepEqual(await served(), servedBefore);
        assert.deepEqual(await colours({ env: 'local' }), before);
      } finally {
        await runCommand({ env: 'local', host: before.idle, argv: ['service', 'supervisor', 'start'] });
      }
      assert.equal(await appRunning(before.idle), false);
    });
  });

  it('switches traffic back when cancelled during the rollback window', async function () {
    await withWorker(taskQueue, async () => {
      const before = await colours({ env: 'local' });
      const servedBefore = await served();
      const handle = await startTestRun(taskQueue, {
        runbook: 'deploy',
        params: { ref: 'v1.1.0', 'rollback-window': '5m' },
        env: 'local',
      });
      await waitForProgress(
        handle,
        (p) => p.steps.some((s) => s.name.startsWith('rollback window') && s.status === 'running'),
        'the rollback window',
      );
      assert.deepEqual(await colours({ env: 'local' }), { live: before.idle, idle: before.live }, 'traffic had moved');
      await handle.cancel();
      await assert.rejects(handle.result(), /cancel/i);
      assert.deepEqual(await served(), servedBefore);
      assert.deepEqual(await colours({ env: 'local' }), before);
      assert.equal(await appRunning(before.idle), false);
      assert.equal(await appRunning(before.live), true);
    });
  });

  it('rolls back when nginx refuses the new configuration: the old colour keeps serving', async function () {
    await withWorker(taskQueue, async () => {
      const before = await colours({ env: 'local' });
      const servedBefore = await served();
      const broken = '/etc/nginx/conf.d/zz-broken-by-test.conf';
      await runCommand({
        env: 'local',
        host: 'lb',
        argv: ['sh', '-c', 'echo "this is not nginx syntax" > "$1"', 'inject', broken],
      });
      try {
        const handle = await startTestRun(taskQueue, {
          runbook: 'deploy',
          params: { ref: 'v1.1.0', 'rollback-window': '1s' },
          env: 'local',
        });
        const result = await compensated(handle.result());
        assert.match(result.progress.reason ?? '', /nginx' '-t' exited with 1/);
        assert.deepEqual(await served(), servedBefore);
        assert.deepEqual(await colours({ env: 'local' }), before, 'the upstream file was put back');
      } finally {
        await runCommand({ env: 'local', host: 'lb', argv: ['rm', '-f', '--', broken] });
      }
      assert.equal(await appRunning(before.idle), false);
    });
  });

  it('rolls back when sshd dies on the idle colour mid-install; the undo ends once sshd is back', async function () {
    await withWorker(taskQueue, async () => {
      const before = await colours({ env: 'local' });
      const servedBefore = await served();
      const handle = await startTestRun(taskQueue, {
        runbook: 'deploy',
        params: { ref: 'v1.1.0', 'rollback-window': '1s' },
        env: 'local',
      });
      await waitForProgress(
        handle,
        (p) => p.steps.some((s) => s.name.startsWith('install on') && s.status === 'running'),
        'the install step',
      );
      // The listener and every session with it: the host is unreachable over SSH.
      await onConsole(before.idle, 'pkill -KILL -x sshd');
      try {
        await waitForProgress(handle, (p) => p.state === 'COMPENSATING', 'compensation to start');
        // The undo (stop the app on the idle colour) needs SSH too: it keeps retrying until then.
        assert.deepEqual(await served(), servedBefore, 'the old colour serves meanwhile');
      } finally {
        await onConsole(before.idle, 'service ssh start >/dev/null');
      }
      const result = await compensated(handle.result());
      assert.match(result.progress.reason ?? '', /connect|connection/i);
      assert.deepEqual(result.progress.leftToUndo, []);
      assert.deepEqual(await served(), servedBefore);
      assert.deepEqual(await colours({ env: 'local' }), before);
      assert.equal(await appRunning(before.idle), false);
    });
  });
});
