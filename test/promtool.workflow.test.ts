// The worker's metrics endpoint as Prometheus's own linter reads it (`promtool check metrics`,
// from Debian's prometheus package, scripts/system-packages.txt): snake_case names and labels,
// base units in the names, _total on counters, help on every metric. Scraped after a run that
// completed through an approval gate, so the engine's counters and histograms are all there.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { freePort } from '../dev/dev-server';
import { approvalSignal } from '../common/shared';
import { atGate, startTestRun, uniqueQueue, waitForProgress } from './helpers';
import { startWorkerProcess, type WorkerProcess } from './worker-process';
import { temporalCli } from './attacker/stock-cli';

async function exposition(address: string): Promise<string> {
  const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200);
  return res.text();
}

/** The exposition once every pattern matches it. */
async function until(address: string, ...patterns: RegExp[]): Promise<string> {
  let text = '';
  for (let i = 0; i < 60 && !patterns.every((p) => p.test(text)); i++) {
    if (i) await new Promise((r) => setTimeout(r, 500));
    text = await exposition(address);
  }
  for (const p of patterns) assert.match(text, p);
  return text;
}

/** A smoke run on test, once the terminated run's lock has gone with it (a moment after). */
async function startOnceFree(): Promise<Awaited<ReturnType<typeof startTestRun>>> {
  for (let i = 0; ; i++) {
    try {
      return await startTestRun(taskQueue, { runbook: 'smoke', env: 'test' });
    } catch (err) {
      if (i >= 50 || !/is held by/.test(String(err))) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const taskQueue = uniqueQueue('promtool');

describe("the worker's metrics pass promtool check metrics", function () {
  this.timeout(180_000);
  let address: string;
  let worker: WorkerProcess | undefined;
  before(async function () {
    address = `127.0.0.1:${await freePort()}`;
    worker = await startWorkerProcess(taskQueue, { RUNBOOK_METRICS_ADDRESS: address, RUNBOOK_METRICS_INTERVAL: '1' });
  });
  after(async function () {
    await worker?.kill('SIGTERM');
  });

  it('after runs through an approval gate and cut off at it, with no problem reported', async function () {
    // One run at a time on the environment (its lock): one cut off by hand at its gate, seen
    // waiting there first (the gauges); then one approved (the counters and histograms).
    const cutOff = await startTestRun(taskQueue, { runbook: 'smoke', env: 'test' });
    await waitForProgress(cutOff, atGate('go-ahead'));
    await until(address, /^runbook_gates_waiting\{[^}]*\} 1/m);
    await temporalCli(['workflow', 'terminate', '--workflow-id', cutOff.workflowId, '--reason', 'by hand']);
    await until(address, /^runbook_runs_cut_off\{[^}]*\} [1-9]/m);
    const approved = await startOnceFree();
    await waitForProgress(approved, atGate('go-ahead'));
    await approved.signal(approvalSignal, { approver: 'alice', decision: 'approve' });
    await approved.result();
    const text = await until(address, /^runbook_gate_wait_seconds_bucket/m);
    const ours = [...new Set([...text.matchAll(/^# TYPE (runbook_\w+)/gm)].map((m) => m[1]))].sort();
    assert.deepEqual(ours, [
      'runbook_gate_oldest_run_age_seconds',
      'runbook_gate_wait_seconds',
      'runbook_gates_opened_total',
      'runbook_gates_waiting',
      'runbook_runs_cut_off',
      'runbook_runs_ended_total',
      'runbook_runs_started_total',
      'runbook_step_duration_seconds',
    ]);
    const checked = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(checked.error, undefined, 'promtool is missing: scripts/system-packages.txt installs prometheus');
    assert.equal(checked.status, 0, `promtool check metrics:\n${checked.stdout}${checked.stderr}`);
    assert.equal(`${checked.stdout}${checked.stderr}`, '', 'no problem reported');
  });
});
