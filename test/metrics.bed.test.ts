// Metrics on the test bed, for real: Prometheus on the machine scrapes the app on every web host
// and nginx on the load balancer; with a load through the load balancer on a baseline host and a
// candidate host at once (a canary's traffic), PromQL tells a release that answers 500s and one
// that is slow from a good one. The queries are the inventory's declared analyses (inventory/local.yaml).
import { strict as assert } from 'node:assert';
import { checkHealth, checkedOutCommit, colours, installRelease, resolveRef, restartApp, stopApp } from '../activities';
import { environment, hostsWithRole } from '../activities/env-vars';
import { setUpstream } from '../activities/upstream';
import { INSTANCES_PLACEHOLDER, type ComparisonAnalysis, type ThresholdAnalysis } from '../src/analysis/declared';
import { judgeMeasurement } from '../src/analysis/measurements';
import { appRunning } from './bed-checks';
import { startLoad } from './load';
import { until } from './until';
import { scalar, targets, vector } from './promql';

const env = 'local';
const e = environment(env);
const prometheus = String(e.vars.prometheusUrl);
const errorRate = e.analyses['error-rate'] as ThresholdAnalysis;
const canary = e.analyses.canary as ComparisonAnalysis;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The canary analysis's metric `name`, asked about one host. */
function canaryQuery(name: string, host: string): string {
  const metric = canary.metrics.find((m) => m.name === name);
  assert.ok(metric, `inventory/local.yaml: analyses.canary has no metric ${name}`);
  return metric.query.split(INSTANCES_PLACEHOLDER).join(host);
}

/** Checks out `ref` on `host`, migrates (expand only) and (re)starts the app there, as a deploy does. */
async function startRelease(host: string, ref: string): Promise<string> {
  const commit = /^[0-9a-f]{40}$/.test(ref) ? ref : await resolveRef({ env, host, ref });
  await installRelease({ env, host, commit });
  await restartApp({ env, host });
  await until(`${host} to serve ${ref}`, 30_000, () => checkHealth({ env, host, commit }));
  return commit;
}

describe('metrics on the test bed (Prometheus)', function () {
  this.timeout(240_000);

  it('scrapes the app on every web host and the nginx exporter on the load balancer', async function () {
    const web = hostsWithRole(e, 'web');
    const running = new Set<string>();
    for (const host of web) if (await appRunning(host)) running.add(host);
    assert.ok(running.size > 0, 'no web host runs the app');
    const seen = await until('every target scraped', 20_000, async () => {
      const t = await targets(prometheus);
      const healthy = (job: string, host: string) =>
        t.some((x) => x.job === job && x.instance === host && x.health === 'up');
      return [...running].every((h) => healthy('app', h)) && healthy('lb', 'lb') ? t : undefined;
    });
    // Every web host is a target, its app running or not (an idle colour's target is down).
    for (const host of web)
      assert.ok(
        seen.some((x) => x.job === 'app' && x.instance === host),
        `no target for ${host}`,
      );
    const up = await vector(prometheus, 'up{job=~"app|lb"}');
    for (const host of running) assert.equal(up[host], 1, `up{instance="${host}"}`);
    assert.equal(await scalar(prometheus, 'nginx_up{instance="lb"}'), 1, 'the exporter reads nginx');
    // Which release each running host serves, as its own /metrics says.
    const versions = await vector(prometheus, 'app_release_info{job="app"}', 'version');
    assert.ok(Object.keys(versions).length >= 1, JSON.stringify(versions));
  });

  describe('with a load through the load balancer on a baseline and a candidate host', function () {
    let baseline: string;
    let candidate: string;
    let was: { live: string; idle: string; commits: Record<string, string>; running: Record<string, boolean> };
    let load: ReturnType<typeof startLoad>;

    before(async function () {
      const { live, idle } = await colours({ env });
      const commits: Record<string, string> = {};
      const running: Record<string, boolean> = {};
      for (const host of [live, idle]) {
        commits[host] = await checkedOutCommit({ env, host });
        running[host] = await appRunning(host);
      }
      was = { live, idle, commits, running };
      [baseline, candidate] = [live, idle];
      // The parent of both regressions: what they are compared with.
      await startRelease(baseline, 'v1.2.0');
      await startRelease(candidate, 'v1.2.0');
      // Both hosts take traffic, as a canary's upstream does.
      await setUpstream({ env, hosts: [baseline, candidate] });
      load = startLoad('http://10.213.0.30/');
    });

    after(async function () {
      const counts = await load?.stop();
      if (counts) console.log(`      load: ${counts.total} requests, by status ${JSON.stringify(counts.byStatus)}`);
      if (!was) return;
      // As it was: the live colour alone in the upstream, each host on its commit, running or not.
      await setUpstream({ env, hosts: [was.live] });
      for (const host of [was.live, was.idle]) {
        if (was.running[host]) await startRelease(host, was.commits[host]);
        else {
          await installRelease({ env, host, commit: was.commits[host] });
          await stopApp({ env, host });
        }
      }
      // The tests after this file find the bed as the ones before it left it.
      assert.deepEqual(await colours({ env }), { live: was.live, idle: was.idle });
      for (const host of [was.live, was.idle]) {
        assert.equal(await checkedOutCommit({ env, host }), was.commits[host], `${host}'s checkout`);
        assert.equal(await appRunning(host), was.running[host], `${host}'s app running`);
      }
    });

    /** Starts `ref` on the candidate, lets the load run over the queries' windows, returns what they say. */
    async function measure(ref: string) {
      // Out of the upstream while it restarts, as a canary deploy does: nginx would otherwise count
      // the refused connections and leave the candidate out for its fail_timeout (10 s).
      await setUpstream({ env, hosts: [baseline] });
      await startRelease(candidate, ref);
      await setUpstream({ env, hosts: [baseline, candidate] });
      // The queries' windows (10 s at most) hold only this release's requests after 12 s.
      await sleep(12_000);
      const errors = await vector(
        prometheus,
        'sum by (instance) (rate(http_requests_total{job="app",path="/",status=~"5.."}[10s]))',
      );
      const pages = await vector(prometheus, 'sum by (instance) (rate(http_requests_total{job="app",path="/"}[10s]))');
      const latency = {
        baseline: await scalar(prometheus, canaryQuery('latency', baseline)),
        candidate: await scalar(prometheus, canaryQuery('latency', candidate)),
      };
      const p90 = await vector(
        prometheus,
        'histogram_quantile(0.9, sum by (instance, le) ' +
          '(rate(http_request_duration_seconds_bucket{job="app",path="/"}[10s])))',
      );
      const fleetErrorRate = await scalar(prometheus, errorRate.query);
      const said = {
        ref,
        errors,
        pages,
        latency,
        p90,
        fleetErrorRate,
        canaryErrors: await scalar(prometheus, canaryQuery('errors', candidate)),
      };
      console.log(`      ${JSON.stringify(said)}`);
      // A slow candidate holds the clients it answers, so it takes fewer pages a second.
      const busy = (host: string) => (pages[host] ?? 0) > 0.3;
      assert.ok(busy(baseline) && busy(candidate), `both hosts take pages: ${JSON.stringify(said)}`);
      assert.equal(errors[baseline] ?? 0, 0, `the baseline answers no 5xx: ${JSON.stringify(said)}`);
      assert.ok(latency.baseline && latency.candidate, `both hosts' latency is measured: ${JSON.stringify(said)}`);
      return { ...said, ratio: latency.candidate / latency.baseline };
    }

    it('v1.5.0-errors: a nonzero 5xx rate on the candidate, and the error-rate analysis fails', async function () {
      const m = await measure('v1.5.0-errors');
      assert.ok((m.errors[candidate] ?? 0) > 0, `5xx on ${candidate}`);
      const share = m.errors[candidate] / m.pages[candidate];
      assert.ok(share > 0.1 && share < 0.4, `every fourth page fails: ${share}`);
      assert.ok((m.canaryErrors ?? 0) > 0, 'the canary analysis sees the errors');
      assert.equal(judgeMeasurement(errorRate, { value: m.fleetErrorRate ?? NaN }), 'Failed');
      assert.ok(m.ratio < 5, `not slow: ${m.ratio}`);
    });

    it('v1.5.0-slow: latency at least 5x the baseline, no 5xx', async function () {
      const m = await measure('v1.5.0-slow');
      assert.equal(m.errors[candidate] ?? 0, 0, `no 5xx on ${candidate}`);
      assert.ok(m.ratio >= 5, `mean page latency ${m.ratio.toFixed(1)}x the baseline's`);
      assert.ok(m.p90[candidate] >= 5 * m.p90[baseline], 'the histogram says so too (p90)');
      assert.equal(judgeMeasurement(errorRate, { value: m.fleetErrorRate ?? NaN }), 'Successful');
    });

    it('v1.1.0 (good): no 5xx and latency like the baseline', async function () {
      const m = await measure('v1.1.0');
      assert.equal(m.errors[candidate] ?? 0, 0, `no 5xx on ${candidate}`);
      assert.ok(m.ratio < 5, `mean page latency ${m.ratio.toFixed(1)}x the baseline's`);
      assert.equal(judgeMeasurement(errorRate, { value: m.fleetErrorRate ?? NaN }), 'Successful');
    });
  });
});
