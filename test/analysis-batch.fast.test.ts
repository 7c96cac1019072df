// A rolling batch's analyses (activities/analysis.ts) with Prometheus and the clock stood in
// for: the queries the worker asks (the inventory's, `{{instances}}` filled in), the verdict it
// returns, and what it keeps of the samples. Unreadable answers are no data, never a value.
import { strict as assert } from 'node:assert';
import { parseTightening, runAnalyses, KEPT_SAMPLES, type AnalysisDeps } from '../activities/analysis';
import type { PromResult, InstantQuery, RangeQuery } from '../activities/prometheus';
import type { ComparisonAnalysis, ThresholdAnalysis } from '../src/analysis/declared';
import { compareCanary } from '../src/analysis/statistics';

const errorRate: ThresholdAnalysis = {
  kind: 'threshold',
  query: 'sum(rate(errors{instance=~"{{instances}}"}[10s]))',
  interval: '2s',
  count: 5,
  successCondition: 'result < 0.01',
  failureCondition: 'result >= 0.05',
  failureLimit: 0,
  inconclusiveLimit: 0,
  consecutiveErrorLimit: 2,
  timeout: '3s',
};

const canary: ComparisonAnalysis = {
  kind: 'comparison',
  interval: '1s',
  window: '20s',
  confidence: 0.95,
  minSamples: 10,
  passScore: 95,
  marginalScore: 75,
  timeout: '5s',
  metrics: [
    { name: 'errors', query: 'sum(rate(e{instance=~"{{instances}}"}[5s]))', bad: 'increase', critical: true },
    { name: 'latency', query: 'avg(l{instance=~"{{instances}}"})', bad: 'increase', critical: false },
  ],
};

const vector = (v: number): PromResult => ({
  ok: true,
  resultType: 'vector',
  series: [{ labels: {}, samples: [[1, v]] }],
  warnings: [],
});
const matrix = (values: number[]): PromResult => ({
  ok: true,
  resultType: 'matrix',
  series: [{ labels: {}, samples: values.map((v, i) => [i, v] as [number, number]) }],
  warnings: [],
});
const unreachable: PromResult = { ok: false, kind: 'unreachable', error: 'Prometheus did not answer: ECONNREFUSED' };

/** A clock that moves only when slept on, and Prometheus answering as `answer` says. */
function world(answer: {
  instant?: (q: InstantQuery, n: number) => PromResult;
  range?: (q: RangeQuery) => PromResult;
}) {
  let now = Date.parse('2026-12-07T12:00:00Z');
  const asked: { instant: string[]; range: RangeQuery[]; slept: number; beats: number } = {
    instant: [],
    range: [],
    slept: 0,
    beats: 0,
  };
  const deps: AnalysisDeps = {
    instant: async (q) => {
      asked.instant.push(q.query);
      return answer.instant!(q, asked.instant.length);
    },
    range: async (q) => {
      asked.range.push(q);
      return answer.range!(q);
    },
    sleep: async (ms) => {
      now += ms;
      asked.slept += ms;
    },
    now: () => now,
    beat: () => asked.beats++,
  };
  return { deps, asked };
}

const batch = { batch: 1, canary: ['web-1'], baseline: ['web-2', 'web-3'] };

describe('analyses of a rolling batch', function () {
  describe('threshold', function () {
    it('count good measurements, interval apart, on the upgraded hosts: Successful', async function () {
      const { deps, asked } = world({ instant: () => vector(0.001) });
      const r = await runAnalyses([{ name: 'error-rate', analysis: errorRate }], batch, deps);
      assert.equal(r.phase, 'Successful', r.reason);
      assert.equal(asked.instant.length, 5);
      assert.equal(asked.instant[0], 'sum(rate(errors{instance=~"web-1"}[10s]))');
      assert.equal(asked.slept, 4 * 2000);
      assert.ok(asked.beats >= 5, 'heartbeats with its progress');
      const t = r.analyses[0];
      assert.ok(t.kind === 'threshold' && t.phase === 'Successful');
      assert.equal(t.measurements.length, 5);
      assert.deepEqual(t.measurements[0], { at: '2026-12-07T12:00:00.000Z', value: 0.001, phase: 'Successful' });
      assert.equal(r.detail, `analysis Successful: error-rate: ${t.reason}`);
    });

    it('a measurement past the failure condition: Failed at once, naming the analysis', async function () {
      const { deps, asked } = world({ instant: (_q, n) => vector(n < 3 ? 0 : 0.2) });
      const r = await runAnalyses([{ name: 'error-rate', analysis: errorRate }], batch, deps);
      assert.equal(r.phase, 'Failed');
      assert.equal(r.failing, 'error-rate');
      assert.match(r.reason, /^error-rate: 1 of 3 measurements failed .*the last: 0.2/);
      assert.equal(asked.instant.length, 3);
    });

    it('Prometheus unreachable: no data, more than the limit in a row → Inconclusive, never a pass', async function () {
      const { deps } = world({ instant: (_q, n) => (n === 1 ? vector(0) : unreachable) });
      const r = await runAnalyses([{ name: 'error-rate', analysis: errorRate }], batch, deps);
      assert.equal(r.phase, 'Inconclusive');
      assert.equal(r.failing, 'error-rate');
      assert.match(r.reason, /no data in 3 measurements in a row.*ECONNREFUSED/);
      const t = r.analyses[0];
      assert.ok(t.kind === 'threshold' && t.phase !== 'Skipped');
      assert.equal(t.errors, 3);
      assert.equal(t.measurements[1].phase, 'Error');
      assert.equal(t.measurements[1].value, undefined);
    });
  });

  describe('comparison', function () {
    const steady = (base: number) => Array.from({ length: 21 }, (_, i) => base + (i % 5) * 0.001);

    it('waits out the window, compares the upgraded hosts with the others: a critical metric fails', async function () {
      const { deps, asked } = world({
        range: (q) => matrix(q.query.includes('"web-1"') ? steady(q.query.includes('e{') ? 0.5 : 0.1) : steady(0.1)),
      });
      const r = await runAnalyses([{ name: 'canary', analysis: canary }], batch, deps);
      assert.equal(r.phase, 'Failed', r.reason);
      assert.equal(r.failing, 'canary/errors');
      assert.equal(asked.slept, 20_000);
      assert.deepEqual(
        asked.range.map((q) => q.query),
        [
          'sum(rate(e{instance=~"web-1"}[5s]))',
          'sum(rate(e{instance=~"web-2|web-3"}[5s]))',
          'avg(l{instance=~"web-1"})',
          'avg(l{instance=~"web-2|web-3"})',
        ],
      );
      assert.deepEqual(asked.range[0], { query: asked.range[0].query, start: 1796644800, end: 1796644820, step: 1 });
      const c = r.analyses[0];
      assert.ok(c.kind === 'comparison' && c.phase === 'Failed');
      assert.equal(c.score, 0);
      assert.equal(c.metrics[0].classification, 'high');
      assert.equal(c.metrics[1].classification, 'pass');
      assert.equal(c.metrics[0].canary.length, 21);
    });

    it('alike on both sides: Successful; the samples it keeps are bounded', async function () {
      const many = Array.from({ length: 200 }, (_, i) => (i % 7) * 0.01);
      const { deps } = world({ range: () => matrix(many) });
      const r = await runAnalyses([{ name: 'canary', analysis: canary }], batch, deps);
      assert.equal(r.phase, 'Successful', r.reason);
      const c = r.analyses[0];
      assert.ok(c.kind === 'comparison' && c.phase !== 'Skipped');
      assert.equal(c.metrics[0].canarySamples, 200);
      assert.equal(c.metrics[0].canary.length, KEPT_SAMPLES);
    });

    it('Prometheus unreachable: no samples, Inconclusive, with its error', async function () {
      const { deps } = world({ range: () => unreachable });
      const r = await runAnalyses([{ name: 'canary', analysis: canary }], batch, deps);
      assert.equal(r.phase, 'Inconclusive');
      assert.equal(r.failing, 'canary/errors, canary/latency');
      const c = r.analyses[0];
      assert.ok(c.kind === 'comparison' && c.phase !== 'Skipped');
      assert.match(c.metrics[0].error ?? '', /canary: prometheus unreachable/);
    });

    it('the last batch, no host left to compare with: judged by its thresholds only', async function () {
      const { deps, asked } = world({ instant: () => vector(0), range: () => unreachable });
      const last = { batch: 3, canary: ['web-1', 'web-2', 'web-3'], baseline: [] };
      const both = [
        { name: 'error-rate', analysis: errorRate },
        { name: 'canary', analysis: canary },
      ];
      const r = await runAnalyses(both, last, deps);
      assert.equal(r.phase, 'Successful', r.reason);
      assert.equal(asked.range.length, 0);
      assert.equal(r.analyses[1].phase, 'Skipped');
      assert.equal(asked.instant[0], 'sum(rate(errors{instance=~"web-1|web-2|web-3"}[10s]))');
      // A comparison alone has nothing to judge the last batch by: a person decides.
      const alone = await runAnalyses([{ name: 'canary', analysis: canary }], last, deps);
      assert.equal(alone.phase, 'Inconclusive');
      assert.match(alone.reason, /no analysis could judge batch 3/);
    });

    it('a threshold failing cuts the comparison beside it short', async function () {
      const { deps, asked } = world({ instant: () => vector(0.5), range: () => matrix(steady(0.1)) });
      const both = [
        { name: 'error-rate', analysis: errorRate },
        { name: 'canary', analysis: canary },
      ];
      const r = await runAnalyses(both, batch, deps);
      assert.equal(r.phase, 'Failed');
      assert.equal(r.failing, 'error-rate');
      assert.ok(asked.slept < 20_000, `slept ${asked.slept} ms`);
    });
  });

  it('a batch whose every host failed (rolled back): nothing to judge, no query asked', async function () {
    const { deps, asked } = world({});
    const r = await runAnalyses([{ name: 'error-rate', analysis: errorRate }], { ...batch, canary: [] }, deps);
    assert.equal(r.phase, 'Successful');
    assert.equal(r.analyses[0].phase, 'Skipped');
    assert.equal(asked.instant.length + asked.range.length, 0);
  });

  it("effect size (Kayenta's): a significant increase within allowedIncrease passes; beyond it, high", function () {
    const baseline = Array.from({ length: 20 }, (_, i) => 0.1 + i * 0.001);
    const spec = (allowedIncrease?: number) => ({
      ...canary,
      metrics: [{ name: 'latency', bad: 'increase' as const, ...(allowedIncrease ? { allowedIncrease } : {}) }],
    });
    const slightly = { latency: { canary: baseline.map((v) => v * 1.2), baseline } };
    assert.equal(compareCanary(spec(), slightly).metrics[0].classification, 'high');
    const within = compareCanary(spec(1.5), slightly).metrics[0];
    assert.equal(within.classification, 'pass');
    assert.match(within.detail, /canary higher .* within the allowed ×1.5/);
    const slow = { latency: { canary: baseline.map((v) => v * 10), baseline } };
    assert.equal(compareCanary(spec(1.5), slow).metrics[0].classification, 'high');
  });

  it('tightening: [analysis.]key=number, only keys an analysis has', function () {
    const analyses = { 'error-rate': errorRate, canary };
    const names = ['error-rate', 'canary'];
    assert.deepEqual(parseTightening('count=10,canary.minSamples=15', names, analyses), {
      'error-rate': { count: 10 },
      canary: { minSamples: 15 },
    });
    assert.deepEqual(parseTightening('', names, analyses), {});
    assert.throws(() => parseTightening('query=1', names, analyses), /query may not be asked/);
    assert.throws(() => parseTightening('other.count=1', names, analyses), /other is not an analysis this run names/);
    assert.throws(() => parseTightening('count=10', ['canary'], analyses), /no analysis this run names has count/);
    assert.throws(() => parseTightening('count=ten', names, analyses), /expected \[analysis.\]key=number/);
  });
});
