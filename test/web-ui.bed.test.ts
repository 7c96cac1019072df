// The Web UI path: a person approves a waiting run in the real Temporal Web UI of the suite's
// dev server, through the UI's own "Send a Signal" form, in a real browser.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { projectRoot } from '../src/config';
import { runUrl } from '../cli/output';
import { progressQuery, type RunResult } from '../common/shared';
import { openBrowser, screenshot, sendSignalInUi, type Browser } from './browser';
import { atGate, runbookCli, startTestRun, testClient, uniqueQueue, waitForProgress, withWorker } from './helpers';
import { signedInventory } from './identity-keys';
import { signStart } from '../src/identity/sign';
import { prepareRun, startRun } from '../src/start';

describe('Web UI: approving in the browser', function () {
  let browser: Browser;

  before(async function () {
    browser = await openBrowser();
  });

  after(async function () {
    await browser?.close();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed')
      console.error(`  the page as it was: ${await screenshot(browser.page, 'failed')}`);
  });

  it('approves the demo run by following the instructions the demo prints, and the run completes', async function () {
    const child = spawn(
      process.execPath,
      [path.join(projectRoot, 'dist', 'dev', 'demo.js'), '--env', 'test', '--exit-when-done'],
      {
        env: { ...process.env, RUNBOOK_TASK_QUEUE: uniqueQueue('ui-demo') },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      const printed = /in the Web UI: (\S+)\n.*signal name: (\S+), data:\n\s*(\{.*\})\n/;
      const deadline = Date.now() + 60_000;
      while (!printed.test(output)) {
        assert.ok(
          Date.now() < deadline && child.exitCode === null,
          `the demo printed no Web UI instructions:\n${output}`,
        );
        await new Promise((r) => setTimeout(r, 100));
      }
      const [, url, signal, data] = printed.exec(output)!;
      const runId = /started (smoke-test-\S+):/.exec(output)![1];
      assert.equal(url, runUrl('default', runId));
      assert.ok(url.startsWith(process.env.RUNBOOK_UI_URL!), `${url} is not on the suite's Web UI`);
      const handle = (await testClient()).workflow.getHandle(runId);
      await waitForProgress(handle, atGate('go-ahead'));

      await sendSignalInUi(browser.page, url, signal, JSON.parse(data));

      assert.equal(await exited, 0, output);
      assert.match(output, new RegExp(`${runId}: COMPLETED`));
      const result = (await handle.result()) as RunResult;
      assert.deepEqual(
        result.progress.approvals.map((a) => [a.approver, a.decision, a.via, a.refused, a.comment]),
        [['alice', 'approve', 'signal', undefined, 'looks good']],
      );
      // The UI shows it completed, with the decision in its result.
      await browser.page.goto(url);
      await browser.page.getByText('Completed', { exact: true }).first().waitFor();
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('records a UI approval from someone not an approver as refused, and the run keeps waiting', async function () {
    const taskQueue = uniqueQueue('ui-refused');
    await withWorker(taskQueue, async () => {
      const handle = await startTestRun(taskQueue, { runbook: 'smoke', initiator: 'operator' });
      try {
        await waitForProgress(handle, atGate('go-ahead'));
        await sendSignalInUi(browser.page, runUrl('default', handle.workflowId), 'approval', {
          approver: 'mallory',
          decision: 'approve',
          comment: 'let me in',
        });

        const p = await waitForProgress(handle, (p) => p.approvals.length > 0, 'the decision to be recorded');
        assert.deepEqual(
          p.approvals.map((a) => [a.approver, a.via, a.refused]),
          [['mallory', 'signal', 'mallory is not an approver for test']],
        );
        assert.equal(p.state, 'WAITING_APPROVAL');
        assert.equal(p.gate?.name, 'go-ahead');
        // Still waiting a moment later: the refused decision released nothing.
        await new Promise((r) => setTimeout(r, 1000));
        const later = await handle.query(progressQuery);
        assert.equal(later.state, 'WAITING_APPROVAL');
        assert.equal((await handle.describe()).status.name, 'RUNNING');
      } finally {
        await handle.cancel();
        await handle.result().catch(() => undefined);
      }
    });
  });

  it('signed environment: refuses an unsigned approval in the UI, counts a pasted `runbook sign` one', async () => {
    const inv = signedInventory('signed-ui', ['olivia', 'alice'], ['alice'], 1);
    const taskQueue = uniqueQueue('ui-signed');
    try {
      await withWorker(taskQueue, async () => {
        const run = prepareRun({ runbook: 'smoke', env: 'signed-ui', params: {}, initiator: 'olivia' });
        run.input.proof = await signStart(run.input, run.runId, 'default', { as: 'olivia', key: inv.key('olivia') });
        const { handle } = await startRun(await testClient(), run, taskQueue);
        const url = runUrl('default', handle.workflowId);
        await waitForProgress(handle, atGate('go-ahead'));
        await sendSignalInUi(browser.page, url, 'approval', { approver: 'alice', decision: 'approve' });
        const refused = await waitForProgress(handle, (p) => p.approvals.length > 0, 'the unsigned one to be recorded');
        assert.match(refused.approvals[0].refused ?? '', /^unsigned: .*runbook sign approve/);

        const sign = ['sign', 'approve', handle.workflowId, '--as', 'alice', '--key', inv.key('alice')];
        sign.push('--comment', 'signed in the UI');
        const printed = await runbookCli(sign);
        assert.equal(printed.code, 0, printed.stderr);
        await sendSignalInUi(browser.page, url, 'approval', JSON.parse(printed.stdout));
        const result = (await handle.result()) as RunResult;
        assert.equal(result.state, 'COMPLETED');
        assert.deepEqual(
          result.progress.approvals.map((a) => [a.approver, a.via, a.refused === undefined, a.key, a.comment]),
          [
            ['alice', 'signal', false, undefined, undefined],
            ['alice', 'signal', true, inv.fingerprint('alice'), 'signed in the UI'],
          ],
        );
      });
    } finally {
      inv.remove();
    }
  });
});
