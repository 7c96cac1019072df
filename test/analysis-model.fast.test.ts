// Named analyses: declared in the inventory with bounds (src/analysis/declared.ts), picked and
// only tightened by a run, and a threshold analysis's measurements judged as Argo Rollouts
// judges them (src/analysis/measurements.ts).
import { strict as assert } from 'node:assert';
import { parseEnvironment } from '../src/inventory';
import { pickAnalysis, type ThresholdAnalysis } from '../src/analysis/declared';
import { judgeMeasurement, judgeSeries, parseCondition, type Measurement } from '../src/analysis/measurements';

const base = `
environment: prod
approvals: { required: 1, approvers: [alice], timeout: 30m }
hosts:
  web-1: { address: 10.0.0.5, roles: [web] }
`;

const analyses = `${base}
analyses:
  error-rate:
    kind: threshold
    query: sum(rate(http_requests_total{status=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))
    interval: 10s
    count: 6
    successCondition: result < 0.01
    failureCondition: result >= 0.05
    failureLimit: 1
  canary:
    kind: comparison
    interval: 5s
    window: 2m
    minSamples: 12
    metrics:
      - name: errors
        query: 'rate(http_errors_total{instance=~"{{instances}}"}[30s])'
        bad: increase
        critical: true
      - name: latency
        query: 'histogram_quantile(0.9, rate(latency_bucket{instance=~"{{instances}}"}[30s]))'
        bad: increase
`;

describe('analyses in the inventory', function () {
  it('reads both kinds, with defaults filled in', function () {
    const env = parseEnvironment(analyses, 'prod.yaml');
    const t = env.analyses['error-rate'];
    assert.equal(t.kind, 'threshold');
    if (t.kind !== 'threshold') return;
    assert.deepEqual([t.failureLimit, t.inconclusiveLimit, t.consecutiveErrorLimit, t.timeout], [1, 0, 4, '10s']);
    const c = env.analyses.canary;
    assert.equal(c.kind, 'comparison');
    if (c.kind !== 'comparison') return;
    assert.deepEqual([c.confidence, c.passScore, c.marginalScore, c.minSamples], [0.95, 95, 75, 12]);
    assert.equal(c.metrics[1].critical, false);
    assert.deepEqual(parseEnvironment(base, 'prod.yaml').analyses, {});
  });

  it('refuses analyses out of bounds, naming the place', function () {
    const cases: [string, RegExp][] = [
      [analyses.replace('count: 6', 'count: 1000'), /analyses\.error-rate\.count: must be <= 100/],
      [
        analyses.replace('interval: 10s', 'interval: 500ms'),
        /analyses\.error-rate\.interval: 500ms is shorter than 1s/,
      ],
      [
        analyses.replace('interval: 10s', 'interval: 2h'),
        /analyses\.error-rate\.interval: 2h is longer than the limit/,
      ],
      [analyses.replace('failureLimit: 1', 'failureLimit: 6'), /failureLimit: 6 would let every one of 6/],
      [analyses.replace('result < 0.01', 'result.foo() || true'), /successCondition: expected "result <op> <number>"/],
      [
        analyses.replace('    successCondition: result < 0.01\n    failureCondition: result >= 0.05\n', ''),
        /analyses\.error-rate: must have required property 'successCondition'/,
      ],
      [analyses.replace('failureLimit: 1', 'failureLimit: 1\n    shell: rm'), /unknown key "shell"/],
      [analyses.replace('window: 2m', 'window: 30s'), /holds 6 samples, fewer than minSamples 12: it could never pass/],
      [analyses.replace('window: 2m', 'window: 2m\n    confidence: 1'), /confidence: must be < 1/],
      [analyses.replace('minSamples: 12', 'minSamples: 2'), /minSamples: must be >= 3/],
      [analyses.replace('{instance=~"{{instances}}"}[30s]))', '[30s]))'), /must name the hosts compared/],
      [analyses.replace('name: latency', 'name: errors'), /errors is named twice/],
      [analyses.replace('kind: comparison', 'kind: magic'), /kind: must be equal to one of the allowed values/],
      [analyses.replace('  canary:', '  Canary:'), /analyses: property name must be valid|must match pattern/],
      [analyses.replace('query: sum', `query: ${'x'.repeat(2001)}`), /must NOT have more than 2000 characters/],
    ];
    for (const [text, error] of cases) assert.throws(() => parseEnvironment(text, 'prod.yaml'), error);
  });
});

describe('a run picks a named analysis and may only tighten it', function () {
  const declared = parseEnvironment(analyses, 'prod.yaml').analyses;

  it('takes a stricter request', function () {
    const { analysis, overruled } = pickAnalysis(declared, 'error-rate', { failureLimit: 0, count: 10 });
    assert.deepEqual(overruled, []);
    assert.equal(analysis.kind === 'threshold' && analysis.failureLimit, 0);
    assert.equal(analysis.kind === 'threshold' && analysis.count, 10);
    const c = pickAnalysis(declared, 'canary', { confidence: 0.9, passScore: 99, minSamples: 20 }).analysis;
    assert.deepEqual(c.kind === 'comparison' && [c.confidence, c.passScore, c.minSamples], [0.9, 99, 20]);
    // The inventory's declaration is untouched.
    assert.equal(declared['error-rate'].kind === 'threshold' && declared['error-rate'].failureLimit, 1);
  });

  it('overrules a looser request, and says so', function () {
    const { analysis, overruled } = pickAnalysis(declared, 'error-rate', { failureLimit: 5, count: 2 });
    assert.equal(analysis.kind === 'threshold' && analysis.failureLimit, 1);
    assert.equal(analysis.kind === 'threshold' && analysis.count, 6);
    assert.equal(overruled.length, 2);
    assert.match(overruled[0], /failureLimit 5; the inventory says 1, and a run may only tighten it/);
    const c = pickAnalysis(declared, 'canary', { confidence: 0.99, passScore: 50 });
    assert.equal(c.overruled.length, 2);
  });

  it('refuses an unknown analysis, query text and keys its kind has not', function () {
    assert.throws(
      () => pickAnalysis(declared, 'nope'),
      /no analysis "nope" in the inventory \(analyses: error-rate, canary\)/,
    );
    assert.throws(() => pickAnalysis(declared, 'toString'), /no analysis "toString"/);
    assert.throws(
      () => pickAnalysis(declared, 'error-rate', { query: 'up' } as never),
      /an analysis may not be asked "query"/,
    );
    assert.throws(() => pickAnalysis(declared, 'error-rate', { passScore: 99 }), /is a threshold: it has no passScore/);
    assert.throws(() => pickAnalysis(declared, 'error-rate', { count: 1e9 }), /count: 1000000000 is not in \[1, 100\]/);
    assert.throws(() => pickAnalysis(declared, 'error-rate', { count: 7.5 }), /not a whole number/);
    assert.throws(() => pickAnalysis(declared, 'error-rate', { count: '7' } as never), /expected a number/);
  });
});

describe('measurements judged as Argo does', function () {
  const analysis = (over: Partial<ThresholdAnalysis> = {}): ThresholdAnalysis => ({
    kind: 'threshold',
    query: 'q',
    interval: '10s',
    count: 4,
    successCondition: 'result < 0.01',
    failureCondition: 'result >= 0.05',
    failureLimit: 1,
    inconclusiveLimit: 0,
    consecutiveErrorLimit: 2,
    timeout: '10s',
    ...over,
  });
  const v = (value: number): Measurement => ({ value });
  const none: Measurement = { error: 'no series' };

  it('parses conditions, and only "result <op> <number>"', function () {
    assert.deepEqual(parseCondition('result<=1e-3'), { op: '<=', value: 0.001 });
    assert.deepEqual(parseCondition(' result != -2.5 '), { op: '!=', value: -2.5 });
    for (const bad of ['result < x', 'len(result) > 0', 'result < 1 && true', '1 < result', 'result <'])
      assert.throws(() => parseCondition(bad), /expected "result <op> <number>"/);
  });

  it('judges one measurement by both conditions, either alone, and no number as Error', function () {
    const both = analysis();
    assert.deepEqual(
      [v(0.001), v(0.02), v(0.05), v(NaN), v(Infinity), none].map((m) => judgeMeasurement(both, m)),
      ['Successful', 'Inconclusive', 'Failed', 'Error', 'Error', 'Error'],
    );
    const successOnly = analysis({ failureCondition: undefined });
    assert.deepEqual(
      [v(0.001), v(0.02)].map((m) => judgeMeasurement(successOnly, m)),
      ['Successful', 'Failed'],
    );
    const failureOnly = analysis({ successCondition: undefined });
    assert.deepEqual(
      [v(0.02), v(0.05)].map((m) => judgeMeasurement(failureOnly, m)),
      ['Successful', 'Failed'],
    );
  });

  it('is Successful after count good measurements, Running before', function () {
    assert.equal(judgeSeries(analysis(), []).phase, 'Running');
    assert.equal(judgeSeries(analysis(), [v(0), v(0), v(0)]).phase, 'Running');
    const done = judgeSeries(analysis(), [v(0), v(0), v(0.06), v(0)]);
    assert.equal(done.phase, 'Successful');
    assert.deepEqual([done.successful, done.failed], [3, 1]);
  });

  it('fails once the failures pass the failure limit, without waiting for the count', function () {
    const r = judgeSeries(analysis(), [v(0.06), v(0), v(0.07)]);
    assert.equal(r.phase, 'Failed');
    assert.match(r.reason, /2 of 3 measurements failed \(success: result < 0\.01; failure: result >= 0\.05\)/);
    assert.match(r.reason, /more than the failure limit 1; the last: 0\.07/);
    assert.equal(judgeSeries(analysis({ failureLimit: 0 }), [v(0.05)]).phase, 'Failed');
  });

  it('is Inconclusive past the inconclusive limit', function () {
    const r = judgeSeries(analysis(), [v(0), v(0.02)]);
    assert.equal(r.phase, 'Inconclusive');
    assert.match(r.reason, /met neither condition/);
  });

  it('is Inconclusive, never Successful, when data is missing too long', function () {
    const r = judgeSeries(analysis(), [v(0), none, none, none]);
    assert.equal(r.phase, 'Inconclusive');
    assert.match(r.reason, /no data in 3 measurements in a row, more than the limit 2; the last: no series/);
    // Errors do not count towards the count: four errors and a number are one measurement.
    const gappy = judgeSeries(analysis(), [none, v(0), none, none, v(0), none, v(0)]);
    assert.equal(gappy.phase, 'Running');
    assert.equal(gappy.errors, 4);
    assert.equal(judgeSeries(analysis(), [none, none, none, none]).phase, 'Inconclusive');
  });

  it('stops judging at the first decision', function () {
    const r = judgeSeries(analysis({ failureLimit: 0 }), [v(0.09), v(0), v(0), v(0), v(0)]);
    assert.equal(r.phase, 'Failed');
    assert.equal(r.successful, 0);
  });
});
