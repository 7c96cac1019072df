// Notices reach people in the format their webhook takes: three local receivers (generic JSON,
// Slack, Teams), named in the `webhooks` environment by secrets, take a failure gate opening,
// the rollback decided there, a completion and a failed undo. The worker is in-process with
// stub activities for the steps and the real notice activities; the notices go out from their
// own workflows (workflows/kernel/notice.ts), after or beside the run, never holding it.
import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { decideFailureUpdate } from '../common/shared';
import type { NoticeEvent, NoticeFormat } from '../common/notice';
import { deliverNotice, noticeTargets } from '../activities/notify';
import { freePort } from '../dev/dev-server';
import { startTestRun, uniqueQueue, waitForProgress, withWorker } from './helpers';
import { scrape, total, type Sample } from './cluster/prometheus';
import { startWorkerProcess } from './worker-process';
import { ended } from './run-ended';
import { stubActivities } from './stub-activities';
import { kernelStubs, startThreeSteps } from './kernel-stubs';

interface Received {
  format: NoticeFormat;
  path: string;
  body: Record<string, unknown>;
}

/** A webhook receiver per format, keeping what it is sent. */
async function receivers(): Promise<{ received: Received[]; urls: Record<NoticeFormat, string>; close(): void }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (d) => (data += d));
    req.on('end', () => {
      const format = req.url!.split('/')[1] as NoticeFormat;
      received.push({ format, path: req.url!, body: JSON.parse(data) as Record<string, unknown> });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // A token in each URL, as real webhooks carry: the URL is a secret.
  const url = (f: NoticeFormat) => `${base}/${f}/${randomBytes(8).toString('hex')}`;
  return {
    received,
    urls: { json: url('json'), slack: url('slack'), teams: url('teams') },
    close: () => server.close(),
  };
}

/** The notices of `runId` with `event`, one per format, once all three have arrived. */
async function noticesOf(
  received: Received[],
  runId: string,
  event: NoticeEvent,
): Promise<Record<NoticeFormat, Received>> {
  const title = TITLES[event];
  const deadline = Date.now() + 60_000;
  for (;;) {
    const json = received.find((r) => r.format === 'json' && r.body.runId === runId && r.body.event === event);
    const chat = (format: NoticeFormat) =>
      received.find((r) => {
        const text = JSON.stringify(r.body);
        return r.format === format && text.includes(runId) && title.test(text);
      });
    const [slack, teams] = [chat('slack'), chat('teams')];
    if (json && slack && teams) return { json, slack, teams };
    if (Date.now() > deadline)
      throw new Error(`not every format had ${event} of ${runId}: ${JSON.stringify(received).slice(0, 3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const TITLES: Record<string, RegExp> = {
  failure_gate_opened: /Step failed: three-steps on webhooks waits for a decision at second/,
  run_compensated: /Rolled back: three-steps on webhooks/,
  run_completed: /Completed: three-steps on webhooks/,
  run_failed_compensation: /Rollback incomplete: three-steps on webhooks/,
  step_rerun_after_lost_worker: /Worker lost: three-steps on webhooks runs third again \(rerun 1\)/,
  run_cut_off: /Ended from outside: smoke on webhooks was stopped mid-run/,
};

/** What every format must carry: the run's link, and the exact commands. */
function carries(notices: Record<NoticeFormat, Received>, runId: string, commands: string[]): void {
  const link = `${process.env.RUNBOOK_UI_URL}/namespaces/default/workflows/${runId}`;
  const { json, slack, teams } = notices;
  assert.equal(json.body.link, link);
  for (const c of commands) assert.ok((json.body.commands as string[]).includes(c), JSON.stringify(json.body));
  const text = String(slack.body.text);
  assert.ok(text.includes(`<${link}|Open the run>`), text);
  for (const c of commands) assert.ok(text.includes(c.replace(/</g, '&lt;').replace(/>/g, '&gt;')), text);
  assert.equal(teams.body.type, 'message');
  const [attachment] = teams.body.attachments as { contentType: string; content: Record<string, unknown> }[];
  assert.equal(attachment.contentType, 'application/vnd.microsoft.card.adaptive');
  assert.equal(attachment.content.type, 'AdaptiveCard');
  assert.deepEqual(attachment.content.actions, [{ type: 'Action.OpenUrl', title: 'Open the run', url: link }]);
  const card = JSON.stringify(attachment.content.body);
  for (const c of commands) assert.ok(card.includes(JSON.stringify(c).slice(1, -1)), card);
}

describe('notifications', function () {
  this.timeout(180_000);
  const taskQueue = uniqueQueue('notify');
  let hooks: Awaited<ReturnType<typeof receivers>>;
  const activities = { ...stubActivities([]), ...kernelStubs, noticeTargets, deliverNotice };
  const run = <T>(fn: () => Promise<T>) => withWorker(taskQueue, fn, activities);

  before(async function () {
    hooks = await receivers();
    process.env.RUNBOOK_TEST_JSON_HOOK = hooks.urls.json;
    process.env.RUNBOOK_TEST_SLACK_HOOK = hooks.urls.slack;
    process.env.RUNBOOK_TEST_TEAMS_HOOK = hooks.urls.teams;
    process.env.RUNBOOK_TEST_LOG_SECRET = 'tok-notifications';
  });
  after(function () {
    hooks?.close();
  });

  it('a failure gate opening, and the rollback decided there, reach every format', async function () {
    await run(async () => {
      const handle: WorkflowHandle = await startThreeSteps(
        taskQueue,
        { failAt: 'second' },
        { asked: { onFailure: 'ask', failureTimeoutMs: 600_000 } },
      );
      const id = handle.workflowId;
      await waitForProgress(handle, (p) => p.failureGate?.step === 'second');
      const opened = await noticesOf(hooks.received, id, 'failure_gate_opened');
      assert.equal(opened.json.body.step, 'second');
      assert.equal(opened.json.body.host, 'web-green');
      assert.match(String(opened.json.body.error), /second failed on web-green/);
      carries(opened, id, [
        `runbook retry ${id} --as <approver> --comment "..."`,
        `runbook rollback ${id} --as <approver> --comment "..."`,
        `runbook skip ${id} --as <approver> --comment "<why>"`,
      ]);
      await handle.executeUpdate(decideFailureUpdate, { args: [{ decision: 'rollback', by: 'alice' }] });
      assert.equal((await ended(handle)).result.state, 'COMPENSATED');
      carries(await noticesOf(hooks.received, id, 'run_compensated'), id, [`runbook status ${id}`]);
    });
  });

  it('a step run again after its worker was lost reaches every format', async function () {
    process.env.RUNBOOK_TEST_LOSE_STEP = 'third';
    try {
      await run(async () => {
        const handle = await startThreeSteps(taskQueue);
        const { result } = await ended(handle);
        assert.equal(result.state, 'COMPLETED');
        assert.equal(result.progress.steps.find((s) => s.name === 'third')?.lostWorkers, 1);
        const id = handle.workflowId;
        const rerun = await noticesOf(hooks.received, id, 'step_rerun_after_lost_worker');
        assert.deepEqual([rerun.json.body.step, rerun.json.body.reruns], ['third', 1]);
        carries(rerun, id, [`runbook status ${id}`]);
      });
    } finally {
      delete process.env.RUNBOOK_TEST_LOSE_STEP;
    }
  });

  it('a completion reaches every format', async function () {
    await run(async () => {
      const handle = await startThreeSteps(taskQueue);
      assert.equal((await ended(handle)).result.state, 'COMPLETED');
      carries(await noticesOf(hooks.received, handle.workflowId, 'run_completed'), handle.workflowId, [
        `runbook status ${handle.workflowId}`,
      ]);
    });
  });

  it('a failed undo reaches every format, naming what is left to undo', async function () {
    await run(async () => {
      const handle = await startThreeSteps(taskQueue, { failAt: 'third', failUndoAt: 'first' });
      assert.equal((await ended(handle)).result.state, 'FAILED_COMPENSATION');
      const id = handle.workflowId;
      const left = await noticesOf(hooks.received, id, 'run_failed_compensation');
      assert.deepEqual(left.json.body.leftToUndo, ['first']);
      assert.match(String(left.slack.body.text), /\*Left to undo:\* first/);
      carries(left, id, [`runbook status ${id}`]);
    });
  });

  it("never sends a notice twice, and no notice carries a webhook's URL", function () {
    const ids = hooks.received.filter((r) => r.format === 'json').map((r) => String(r.body.id));
    assert.equal(new Set(ids).size, ids.length, ids.join('\n'));
    for (const url of Object.values(hooks.urls)) {
      const token = url.split('/').pop()!;
      for (const r of hooks.received) assert.ok(!JSON.stringify(r.body).includes(token));
    }
  });

  it('counts a run at a failure gate in the gate gauges, and each delivery by format', async function () {
    const queue = uniqueQueue('notify-metrics');
    const address = `127.0.0.1:${await freePort()}`;
    const worker = await startWorkerProcess(
      queue,
      {
        RUNBOOK_METRICS_ADDRESS: address,
        RUNBOOK_METRICS_INTERVAL: '1',
        RUNBOOK_TEST_FAIL_STEP: 'announce',
        RUNBOOK_TEST_NOTICES: '1',
        RUNBOOK_LOG_LEVEL: 'WARN',
      },
      { entry: ['test', 'stub-worker-main.js'], quiet: true },
    );
    try {
      const handle = await startTestRun(queue, {
        runbook: 'smoke',
        env: 'webhooks',
        onFailure: 'ask',
      });
      await waitForProgress(handle, (p) => p.failureGate?.step === 'announce');
      const smoke = { runbook: 'smoke', env: 'webhooks' };
      const deadline = Date.now() + 60_000;
      let samples: Sample[] = [];
      const seen = () =>
        total(samples, 'runbook_failure_gates_waiting', smoke) === 1 &&
        ['json', 'slack', 'teams'].every(
          (format) => total(samples, 'runbook_notifications_sent_total', { format, event: 'failure_gate_opened' }) >= 1,
        );
      while (!seen() && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        samples = await scrape(address);
      }
      const ours = samples.filter((x) => /^runbook_(failure_gate|gates|notifications)/.test(x.name));
      assert.ok(seen(), JSON.stringify(ours));
      assert.ok(total(samples, 'runbook_failure_gate_oldest_run_age_seconds', smoke) > 0);
      assert.equal(total(samples, 'runbook_gates_waiting', smoke), 0, 'not at an approval gate');
      await handle.executeUpdate(decideFailureUpdate, { args: [{ decision: 'rollback', by: 'alice' }] });
      assert.equal((await ended(handle)).result.state, 'COMPENSATED');
    } finally {
      await worker.kill('SIGTERM');
    }
  });

  it('a run terminated from outside is told, with the undos it never ran, by a worker that sees it', async function () {
    const queue = uniqueQueue('notify-cut-off');
    const worker = await startWorkerProcess(
      queue,
      { RUNBOOK_METRICS_INTERVAL: '1', RUNBOOK_TEST_NOTICES: '1', RUNBOOK_LOG_LEVEL: 'WARN' },
      { entry: ['test', 'stub-worker-main.js'], quiet: true },
    );
    try {
      const handle = await startTestRun(queue, { runbook: 'smoke', env: 'webhooks' });
      await waitForProgress(handle, (p) => p.gate?.name === 'go-ahead');
      await handle.terminate('by hand');
      const id = handle.workflowId;
      const told = await noticesOf(hooks.received, id, 'run_cut_off');
      assert.deepEqual(told.json.body.leftToUndo, ['announce', 'prepare']);
      assert.equal(told.json.body.initiator, 'operator');
      carries(told, id, [`runbook status ${id}`]);
      const cutOff = hooks.received.filter((r) => r.format === 'json' && r.body.event === 'run_cut_off');
      assert.equal(cutOff.filter((r) => r.body.runId === id).length, 1, 'told once');
    } finally {
      await worker.kill('SIGTERM');
    }
  });
});
