// A retry after an attempt lost between writing a file and applying it (its worker SIGKILLed
// before the reload): the retry finds the file already right and must apply it all the same, or
// the service goes on with the old configuration while the file says the new one. The chaos test
// on the cluster once ended a deploy COMPENSATED that way (the load balancer's upstream).
import { strict as assert } from 'node:assert';
import { runCommand } from '../activities/hosts';
import { liveHost, switchUpstream } from '../activities/lb';
import { unappliedMark } from '../activities/upstream';
import { environment } from '../activities/env-vars';
import { requiredVar } from '../src/vars';
import { ensureFile, restoreFile } from '../activities/provision/files';
import { newRunId } from '../src/run-id';
import { served } from './bed-checks';

const onLb = (argv: string[], okExitCodes?: number[]) => runCommand({ env: 'local', host: 'lb', argv, okExitCodes });

/** nginx's serving workers: new ones after a reload (the old ones are renamed "shutting down"). */
async function servingWorkers(): Promise<string[]> {
  const out = await onLb(['pgrep', '-f', '^nginx: worker process$'], [0, 1]);
  return out.stdout.split('\n').filter(Boolean).sort();
}

async function reloadedSince(before: string[]): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const now = await servingWorkers();
    if (now.length && now.every((pid) => !before.includes(pid))) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('switching the upstream after an attempt lost before its reload', function () {
  it('the retry reloads nginx though the file is right; then a switch there reloads nothing', async function () {
    const live = await liveHost({ env: 'local' });
    const mark = unappliedMark(requiredVar(environment('local'), 'upstreamFile'));
    const servingBefore = await served();
    await switchUpstream({ env: 'local', host: live });
    const settled = await servingWorkers();

    // What a lost attempt leaves: the file written (here: already naming the live colour, as a
    // retry finds it) and the mark set before the write, never cleared by a reload.
    await onLb(['touch', '--', mark]);
    assert.deepEqual(await switchUpstream({ env: 'local', host: live }), { changed: true });
    assert.ok(await reloadedSince(settled), 'nginx was reloaded by the retry');
    assert.equal((await onLb(['test', '-e', mark], [0, 1])).exitCode, 1, 'the mark is cleared after the reload');

    const reloaded = await servingWorkers();
    assert.deepEqual(await switchUpstream({ env: 'local', host: live }), { changed: false });
    assert.deepEqual(await servingWorkers(), reloaded, 'nothing to apply: no reload');
    assert.deepEqual(await served(), servingBefore, 'traffic stayed where it was');
  });
});

describe("provision's files when the attempt that wrote one was lost", function () {
  it('a retry in the same run hears "changed" (so it reloads again); another run hears "unchanged"', async function () {
    const file = {
      path: '/etc/runbook-retry-test.conf',
      content: `written by ${this.test?.title}\n`,
      mode: '644',
      owner: 'root',
      group: 'root',
    };
    const ref = (runId: string) => ({ env: 'local', host: 'web-blue', login: 'root', runId });
    const run = ref(newRunId('provision', 'local'));
    try {
      assert.equal((await ensureFile(run, file)).changed, true, 'the first attempt writes it');
      assert.equal((await ensureFile(run, file)).changed, true, 'the retry applies it again');
      assert.equal((await ensureFile(ref(newRunId('provision', 'local')), file)).changed, false, 'a new run');
    } finally {
      await restoreFile(run, file.path);
    }
    const left = await runCommand({
      env: 'local',
      host: 'web-blue',
      argv: ['test', '-e', file.path],
      okExitCodes: [0, 1],
    });
    assert.equal(left.exitCode, 1, 'the undo removed the file it created');
  });
});
