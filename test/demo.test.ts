// `npm run demo`, the README's main job: a run left at its gate, the UI address printed, and
// the run completing once approved the way the printed instructions say.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { projectRoot } from '../src/config';
import { approvalSignal } from '../common/shared';
import { atGate, testClient, uniqueQueue, waitForProgress } from './helpers';

describe('demo (the README main job)', function () {
  it('starts a run, prints where to approve it in the Web UI, and finishes once approved', async function () {
    const child = spawn(process.execPath, [path.join(projectRoot, 'dist', 'dev', 'demo.js'), '--env', 'test', '--exit-when-done'], {
      env: { ...process.env, RUNBOOK_TASK_QUEUE: uniqueQueue('demo') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      const deadline = Date.now() + 60_000;
      while (!/started (smoke-test-\S+):/.test(output)) {
        assert.ok(Date.now() < deadline && child.exitCode === null, `the demo did not start a run:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const runId = /started (smoke-test-\S+):/.exec(output)![1];
      assert.ok(output.includes(`${process.env.RUNBOOK_UI_URL}/namespaces/default/workflows/${runId}`), output);
      assert.match(output, /signal name: approval/);
      assert.ok(output.includes(`npm run runbook -- approve ${runId} --as alice`), output);

      const handle = (await testClient()).workflow.getHandle(runId);
      await waitForProgress(handle, atGate('go-ahead'));
      await handle.signal(approvalSignal, { approver: 'alice', decision: 'approve', comment: 'looks good' });
      assert.equal(await exited, 0, output);
      assert.match(output, new RegExp(`${runId}: COMPLETED`));
    } finally {
      child.kill('SIGKILL');
    }
  });
});
