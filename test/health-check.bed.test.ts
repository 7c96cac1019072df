// The health check on the test bed, with a local HTTP receiver as the alert webhook: a failure
// is alerted once however many checks see it, its recovery once; an alert that could not be
// delivered is delivered by the next run; the check takes no lock.
import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { runCommand } from '../activities/hosts';
import { liveHost } from '../activities/lb';
import { approvalSignal } from '../common/shared';
import { prepareRun } from '../src/start';
import type { HealthResult } from '../workflows/health-check';
import { bedInventory, type BedInventory } from './bed-inventory';
import { atGate, startTestRun, uniqueQueue, waitForProgress, withWorker } from './helpers';
import { recordHistory } from './history-recorder';
import { dryRunOn } from './plan-facts';

const ENV = 'bed-alerts';

interface Alert {
  event: 'health_failing' | 'health_recovered';
  env: string;
  runId: string;
  checks: { key: string; detail: string }[];
  failing: string[];
}

/** The webhook: records every POST; answers `status`. */
class Receiver {
  readonly alerts: Alert[] = [];
  posts = 0;
  status = 200;
  private server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      this.posts++;
      if (this.status === 200) this.alerts.push(JSON.parse(body));
      res.writeHead(this.status).end();
    });
  });
  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/alerts`;
  }
  take(): Alert[] {
    return this.alerts.splice(0);
  }
  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

const onBed = (host: string, argv: string[], okExitCodes?: number[]) =>
  runCommand({ env: 'local', host, argv, okExitCodes });
const keys = (alert: Alert) => alert.checks.map((c) => c.key).sort();

describe('health-check on the test bed', function () {
  const taskQueue = uniqueQueue('health');
  const receiver = new Receiver();
  let inventory: BedInventory | undefined;

  // The test bed's inventory, with the receiver as its alert webhook (expanded on the worker).
  before(async function () {
    process.env.RUNBOOK_TEST_ALERT_WEBHOOK = await receiver.start();
    inventory = bedInventory(ENV, (env) => (env.vars.alertWebhook = '${RUNBOOK_TEST_ALERT_WEBHOOK}'));
  });

  after(async function () {
    inventory?.remove();
    delete process.env.RUNBOOK_TEST_ALERT_WEBHOOK;
    await receiver.stop();
  });

  async function check(): Promise<HealthResult> {
    const handle = await startTestRun(taskQueue, { runbook: 'health-check', env: ENV });
    return (await handle.result()) as HealthResult;
  }

  it('finds every check passing on a healthy bed, and alerts nothing', async function () {
    await withWorker(taskQueue, async () => {
      const live = await liveHost({ env: 'local' });
      const handle = await startTestRun(taskQueue, { runbook: 'health-check', env: ENV });
      const result = (await handle.result()) as HealthResult;
      assert.equal(result.state, 'COMPLETED');
      assert.deepEqual(
        result.health.checks.filter((c) => c.state !== 'ok'),
        [],
      );
      assert.deepEqual(
        result.health.checks.map((c) => c.key).sort(),
        [
          'db/postgresql',
          'db/ssh',
          'fresh/ssh',
          'lb/http',
          'lb/https',
          'lb/ssh',
          `${live}/app`,
          'web-blue/ssh',
          'web-green/ssh',
        ].sort(),
      );
      assert.deepEqual(result.health.failing, []);
      assert.equal(result.progress.steps.at(-1)?.name, 'all 9 checks pass');
      assert.deepEqual(receiver.take(), []);
      await recordHistory(handle, 'health-check-healthy');
    });
  });

  it('alerts once when nginx stops, not again while it stays down, and once when it is back', async function () {
    await withWorker(taskQueue, async () => {
      receiver.take();
      await onBed('lb', ['nginx', '-s', 'quit']);
      try {
        const down = await check();
        assert.deepEqual(down.health.failing.sort(), ['lb/http', 'lb/https']);
        const [alert, ...more] = receiver.take();
        assert.deepEqual(more, [], 'one alert');
        assert.equal(alert.event, 'health_failing');
        assert.equal(alert.env, ENV);
        assert.deepEqual(keys(alert), ['lb/http', 'lb/https']);
        assert.match(alert.checks[0].detail, /ECONNREFUSED/);

        const stillDown = await check();
        assert.deepEqual(stillDown.health.failing.sort(), ['lb/http', 'lb/https']);
        assert.deepEqual(receiver.take(), [], 'no second alert while it stays down');
      } finally {
        await onBed('lb', ['sh', '-c', 'pgrep -x nginx >/dev/null || nginx']);
      }
      const back = await check();
      assert.deepEqual(back.health.failing, []);
      const [recovery, ...more] = receiver.take();
      assert.deepEqual(more, [], 'one recovery alert');
      assert.equal(recovery.event, 'health_recovered');
      assert.deepEqual(keys(recovery), ['lb/http', 'lb/https']);

      await check();
      assert.deepEqual(receiver.take(), [], 'nothing more once recovered');
    });
  });

  it('delivers an alert the webhook refused with the next run, then only once', async function () {
    await withWorker(taskQueue, async () => {
      receiver.take();
      const live = await liveHost({ env: 'local' });
      await onBed('db', ['pg_ctlcluster', '15', 'main', 'stop']);
      try {
        receiver.status = 500;
        const postsBefore = receiver.posts;
        const refused = await startTestRun(taskQueue, { runbook: 'health-check', env: ENV });
        await assert.rejects(refused.result(), (err) => {
          assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure);
          assert.match(err.cause.message, /webhook answered 500/);
          return true;
        });
        assert.equal(receiver.posts - postsBefore, 3, 'the alert was attempted three times, then the run failed');
        receiver.status = 200;

        const delivered = await check();
        // The app's own health needs the database, so the live app fails with it, and so does
        // its health page through the load balancer.
        const withoutDatabase = ['db/postgresql', `${live}/app`, 'lb/http', 'lb/https'].sort();
        assert.deepEqual(delivered.health.failing.sort(), withoutDatabase);
        const [alert, ...more] = receiver.take();
        assert.deepEqual(more, []);
        assert.equal(alert.event, 'health_failing');
        assert.deepEqual(keys(alert), withoutDatabase);

        await check();
        assert.deepEqual(receiver.take(), []);
      } finally {
        receiver.status = 200;
        await onBed('db', ['pg_ctlcluster', '15', 'main', 'start'], [0, 2]);
      }
      // The app reconnects on its next request.
      const back = await check();
      assert.deepEqual(back.health.failing, []);
      assert.deepEqual(
        receiver.take().map((a) => [a.event, keys(a)]),
        [['health_recovered', ['db/postgresql', `${live}/app`, 'lb/http', 'lb/https'].sort()]],
      );
    });
  });

  it('takes no lock: it runs while a mutating run holds the environment', async function () {
    await withWorker(taskQueue, async () => {
      const holder = await startTestRun(taskQueue, { runbook: 'smoke', env: ENV });
      try {
        await waitForProgress(holder, atGate('go-ahead'), 'the smoke run holding the environment');
        const result = await check();
        assert.equal(result.state, 'COMPLETED');
      } finally {
        await holder.signal(approvalSignal, { approver: 'bob', decision: 'reject', comment: 'test over' });
        await holder.result().catch(() => undefined);
      }
    });
  });

  it('plans its checks by role in a dry run, checking the hosts for real', async function () {
    const run = prepareRun({ runbook: 'health-check', env: ENV, params: {}, initiator: 'operator' });
    assert.equal(run.policy.applied.mutating, false);
    const queue = uniqueQueue('health-dry');
    const { plan } = await withWorker(queue, () =>
      dryRunOn(queue, { runbook: 'health-check', env: ENV, params: {}, initiator: 'operator' }),
    );
    const steps = plan.map((p) => ('step' in p ? `${p.step} on ${p.where}${p.ran ? ' (ran)' : ''}` : ''));
    assert.ok(steps.includes('check db on db (ran)'), steps.join('\n'));
    assert.match(JSON.stringify(plan), /postgresql: pg_isready/);
  });
});
