// The canary statistics (src/analysis/statistics.ts) against SciPy's: the cases and their U and
// p-values are in test/fixtures/analysis/mann-whitney.json, made by make-reference.py beside it
// (SciPy's mannwhitneyu, two-sided, asymptotic, continuity-corrected; ties included).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compareCanary, mannWhitneyU, normalUpperTail, type ComparisonSpec } from '../src/analysis/statistics';

interface Case {
  name: string;
  x: number[];
  y: number[];
  u: number;
  p: number;
}

const FIXTURE = path.join(__dirname, '..', '..', 'test', 'fixtures', 'analysis', 'mann-whitney.json');

function close(actual: number, expected: number, what: string): void {
  const tolerance = 1e-9 * Math.abs(expected) + 1e-300;
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual}, SciPy says ${expected}`);
}

describe('Mann-Whitney U, against SciPy', function () {
  const reference = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as { scipy: string; cases: Case[] };

  it('has reference cases with ties, all-tied samples and tiny p-values', function () {
    const cases = reference.cases;
    assert.ok(cases.length >= 15, `${cases.length} cases`);
    const tied = cases.filter((c) => new Set([...c.x, ...c.y]).size < c.x.length + c.y.length);
    assert.ok(tied.length >= 5, `${tied.length} cases with ties`);
    assert.ok(cases.some((c) => c.p === 1));
    assert.ok(cases.some((c) => c.p < 1e-20));
  });

  for (const c of (JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as { cases: Case[] }).cases) {
    it(`${c.name}: U and p as SciPy's`, function () {
      const r = mannWhitneyU(c.x, c.y);
      assert.equal(r.u, c.u);
      close(r.p, c.p, 'p');
    });
  }

  it('is symmetric: swapping the samples keeps p and gives U2 = n1·n2 - U1', function () {
    const x = [1, 2, 2, 5, 7];
    const y = [2, 3, 8, 9];
    const a = mannWhitneyU(x, y);
    const b = mannWhitneyU(y, x);
    assert.equal(a.p, b.p);
    assert.equal(a.u + b.u, x.length * y.length);
  });

  it('refuses empty and non-finite samples', function () {
    assert.throws(() => mannWhitneyU([], [1]), /at least one value/);
    assert.throws(() => mannWhitneyU([1, NaN], [1]), /finite/);
  });

  it('has a normal tail accurate far out (1 - Φ)', function () {
    // Values of the standard normal's upper tail (SciPy: norm.sf).
    close(normalUpperTail(0), 0.5, 'Q(0)');
    close(normalUpperTail(1.959963984540054), 0.025, 'Q(1.96)');
    close(normalUpperTail(-1.959963984540054), 0.975, 'Q(-1.96)');
    close(normalUpperTail(10), 7.61985302416047e-24, 'Q(10)');
  });
});

describe('canary classification and score (Kayenta)', function () {
  const spec = (over: Partial<ComparisonSpec> = {}): ComparisonSpec => ({
    confidence: 0.95,
    minSamples: 5,
    passScore: 90,
    marginalScore: 50,
    metrics: [
      { name: 'errors', bad: 'increase', critical: true },
      { name: 'latency', bad: 'increase' },
      { name: 'throughput', bad: 'decrease' },
    ],
    ...over,
  });
  const same = [0.1, 0.11, 0.09, 0.1, 0.12, 0.1, 0.08, 0.1];
  const higher = same.map((v) => v * 5);
  const lower = same.map((v) => v / 5);

  it('passes a canary like its baseline, every metric `pass`, score 100', function () {
    const v = compareCanary(spec(), {
      errors: { canary: same, baseline: same },
      latency: { canary: same, baseline: same },
      throughput: { canary: same, baseline: same },
    });
    assert.equal(v.outcome, 'pass');
    assert.equal(v.score, 100);
    assert.deepEqual(
      v.metrics.map((m) => m.classification),
      ['pass', 'pass', 'pass'],
    );
  });

  it('classifies high and low, and only the declared bad direction fails', function () {
    const v = compareCanary(spec(), {
      errors: { canary: same, baseline: same },
      latency: { canary: lower, baseline: same }, // faster: low, not a regression
      throughput: { canary: lower, baseline: same }, // less throughput: low, bad
    });
    assert.deepEqual(
      v.metrics.map((m) => [m.name, m.classification, m.passed]),
      [
        ['errors', 'pass', true],
        ['latency', 'low', true],
        ['throughput', 'low', false],
      ],
    );
    assert.equal(v.score, 66.6);
    assert.equal(v.outcome, 'marginal');
    assert.match(v.reason, /failing: throughput \(low\)/);
  });

  it('sees a canary whose error ratio is mostly zero but often not, though the medians tie', function () {
    const baseline = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const canary = [0, 0.2, 0, 0.3, 0, 0.1, 0, 0.2, 0, 0.4, 0.1, 0];
    const v = compareCanary(spec({ metrics: [{ name: 'errors', bad: 'increase' }] }), {
      errors: { canary, baseline },
    });
    assert.equal(v.metrics[0].classification, 'high');
    assert.equal(v.outcome, 'fail');
  });

  it('sets the score to 0 when a critical metric fails', function () {
    const v = compareCanary(spec(), {
      errors: { canary: higher, baseline: same },
      latency: { canary: same, baseline: same },
      throughput: { canary: same, baseline: same },
    });
    assert.equal(v.score, 0);
    assert.equal(v.outcome, 'fail');
    assert.match(v.reason, /critical metric failed: errors \(high\)/);
  });

  it('fails below the marginal score without a critical metric', function () {
    const v = compareCanary(spec({ metrics: spec().metrics.map((m) => ({ ...m, critical: false })) }), {
      errors: { canary: higher, baseline: same },
      latency: { canary: higher, baseline: same },
      throughput: { canary: same, baseline: same },
    });
    assert.equal(v.score, 33.3);
    assert.equal(v.outcome, 'fail');
  });

  it('is inconclusive, never a pass, with too few samples', function () {
    const v = compareCanary(spec(), {
      errors: { canary: same, baseline: same },
      latency: { canary: same.slice(0, 4), baseline: same },
      throughput: { canary: same, baseline: same },
    });
    assert.equal(v.outcome, 'inconclusive');
    assert.equal(v.metrics[1].classification, 'nodata');
    assert.match(v.metrics[1].detail, /4 canary, 8 baseline; at least 5/);
    const none = compareCanary(spec(), {});
    assert.equal(none.outcome, 'inconclusive');
    assert.equal(none.score, 0);
  });

  it('fails with missing data when the metrics it has already fail it', function () {
    const v = compareCanary(spec({ metrics: spec().metrics.map((m) => ({ ...m, critical: false })) }), {
      errors: { canary: higher, baseline: same },
      latency: { canary: higher, baseline: same },
      throughput: { canary: [], baseline: same },
    });
    assert.equal(v.outcome, 'fail');
  });

  it('refuses a specification out of bounds', function () {
    assert.throws(() => compareCanary(spec({ confidence: 1 }), {}), /confidence/);
    assert.throws(() => compareCanary(spec({ minSamples: 1 }), {}), /minSamples/);
    assert.throws(() => compareCanary(spec({ marginalScore: 95 }), {}), /marginalScore/);
  });
});
