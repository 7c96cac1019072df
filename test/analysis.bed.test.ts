// A rolling deploy judged by its metrics on the test bed (issue 24): both web hosts serve
// v1.2.0 behind the load balancer with a load through it, and `rolling-deploy --batches 1,100%
// --analysis upgraded-error-rate,canary` deploys a release one host at a time, each batch
// judged on the bed's Prometheus. v1.5.0-errors (every fourth page a 500, its health check
// passing) stops after its canary batch and is rolled back, the run naming the failing metric;
// v1.1.0 passes every analysis; Prometheus stopped while the canary batch is analysed opens a
// failure gate for a person (it is started again before anything else runs).
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { checkedOutCommit, checkHealth, colours, installRelease, resolveRef, restartApp, stopApp } from '../activities';
import { setUpstream } from '../activities/upstream';
import { environment } from '../activities/env-vars';
import { projectRoot } from '../src/config';
import { decideFailureUpdate, type RunResult } from '../common/shared';
import { appRunning } from './bed-checks';
import { startTestRun, uniqueQueue, waitForProgress, withWorker } from './helpers';
import { startLoad } from './load';
import { until } from './until';
import { compensated } from './run-ended';

const env = 'local';
const ANALYSIS = 'upgraded-error-rate,canary';
const ASK = { onFailure: 'ask', failureTimeoutMs: 10 * 60_000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Stops or starts the bed's Prometheus as `testbed.sh up` and `down` do (its data is kept). */
async function prometheus(action: 'stop' | 'start'): Promise<void> {
  const dir = path.join(projectRoot, 'scripts', 'testbed');
  const parts = 'rootfs keys network pebble sample-app hosts roles status fleet prometheus';
  const run =
    action === 'stop'
      ? 'stop_prometheus'
      : 'ensure_prometheus; wait_until 30 prometheus prometheus_answers || die "Prometheus does not answer"';
  const script = `set -euo pipefail; source "$0/lib.sh"; for p in ${parts}; do source "$0/$p.sh"; done; ${run}`;
  await promisify(execFile)('bash', ['-c', script, dir]);
}

/** Checks out `commit` on `host` and (re)starts the app there, as a deploy does. */
async function startRelease(host: string, commit: string): Promise<void> {
  await installRelease({ env, host, commit });
  await restartApp({ env, host });
  await until(`${host} to serve ${commit}`, 30_000, () => checkHealth({ env, host, commit }));
}

describe('rolling deploy judged by its analyses on the test bed (Prometheus)', function () {
  this.timeout(300_000);
  const queue = uniqueQueue('analysis-bed');
  let hosts: string[];
  let v120: string;
  let was: { live: string; commits: Record<string, string>; running: Record<string, boolean> };
  let load: ReturnType<typeof startLoad> | undefined;

  before(async function () {
    assert.ok(environment(env).analyses.canary, 'inventory/local.yaml declares the canary analysis');
    const { live, idle } = await colours({ env });
    hosts = [live, idle];
    const commits: Record<string, string> = {};
    const running: Record<string, boolean> = {};
    for (const host of hosts) {
      commits[host] = await checkedOutCommit({ env, host });
      running[host] = await appRunning(host);
    }
    was = { live, commits, running };
    v120 = await resolveRef({ env, host: live, ref: 'v1.2.0' });
    load = startLoad('http://10.213.0.30/');
  });

  /** Both hosts on v1.2.0 (the regressions' parent) and taking traffic: the fleet the deploy starts from. */
  beforeEach(async function () {
    await setUpstream({ env, hosts: [hosts[0]] });
    for (const host of hosts) await startRelease(host, v120);
    await setUpstream({ env, hosts });
    // The queries' windows (5 s) hold only v1.2.0's requests.
    await sleep(6_000);
  });

  after(async function () {
    await prometheus('start');
    const counts = await load?.stop();
    if (counts) console.log(`      load: ${counts.total} requests, by status ${JSON.stringify(counts.byStatus)}`);
    if (!was) return;
    // As it was: the live colour alone in the upstream, each host on its commit, running or not.
    await setUpstream({ env, hosts: [was.live] });
    for (const host of hosts) {
      if (was.running[host]) await startRelease(host, was.commits[host]);
      else {
        await installRelease({ env, host, commit: was.commits[host] });
        await stopApp({ env, host });
      }
    }
    assert.deepEqual((await colours({ env })).live, was.live);
  });

  const deploy = (ref: string, extra: Record<string, unknown> = {}) =>
    startTestRun(queue, {
      runbook: 'rolling-deploy',
      env,
      params: { ref, batches: '1,100%', analysis: ANALYSIS },
      ...extra,
    });

  it('v1.5.0-errors: stops after its canary batch, rolls it back, naming the failing metric', async function () {
    const result = await withWorker(queue, async () => compensated(await deploy('v1.5.0-errors')));
    const reason = result.progress.reason ?? '';
    console.log(`      ${reason.slice(0, 300)}`);
    assert.match(reason, /^analysis failed after batch 1: (upgraded-error-rate|canary\/errors)\b/);
    const steps = Object.fromEntries(result.progress.steps.map((s) => [s.name, s.status]));
    assert.equal(steps['batch 1/2 (1 host)'], 'compensated');
    assert.equal(steps['analyse batch 1/2'], 'done');
    assert.equal(steps['batch 2/2 (1 host)'], undefined, 'the second batch never started');
    for (const host of hosts) assert.equal(await checkedOutCommit({ env, host }), v120, `${host} is on v1.2.0`);
  });

  it('v1.1.0: passes every analysis of every batch', async function () {
    const result = await withWorker(queue, async () => (await deploy('v1.1.0')).result() as Promise<RunResult>);
    const analysed = result.progress.steps.filter((s) => s.name.startsWith('analyse'));
    console.log(`      ${analysed.map((s) => `${s.name}: ${s.detail?.slice(0, 200)}`).join('\n      ')}`);
    assert.equal(result.state, 'COMPLETED', result.progress.reason);
    assert.deepEqual(
      analysed.map((s) => [s.name, s.status]),
      [
        ['analyse batch 1/2', 'done'],
        ['analyse batch 2/2', 'done'],
      ],
    );
    for (const s of analysed) assert.match(s.detail ?? '', /^analysis Successful/);
  });

  it('Prometheus stopped mid-analysis: a failure gate for a person, never a pass', async function () {
    const result = await withWorker(queue, async () => {
      const handle = await deploy('v1.1.0', ASK);
      await waitForProgress(
        handle,
        (p) => p.steps.some((s) => s.name === 'analyse batch 1/2' && s.status === 'running'),
        'the canary batch analysed',
      );
      await prometheus('stop');
      try {
        const at = await waitForProgress(handle, (p) => p.failureGate !== undefined, 'the failure gate');
        assert.equal(at.failureGate!.step, 'analyse batch 1/2');
        assert.match(
          at.failureGate!.error,
          /analysis inconclusive after batch 1: .*(no data|unreachable|ECONNREFUSED)/,
        );
      } finally {
        await prometheus('start');
      }
      await handle.executeUpdate(decideFailureUpdate, {
        args: [{ decision: 'rollback', by: 'alice', comment: 'no metrics' }],
      });
      return compensated(handle);
    });
    assert.equal(result.progress.failureGates?.[0]?.outcome, 'rollback');
    for (const host of hosts) assert.equal(await checkedOutCommit({ env, host }), v120, `${host} is on v1.2.0`);
  });
});
