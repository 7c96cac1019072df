// The statistics of a canary comparison (Kayenta's model), on the worker: a Mann-Whitney U test
// per metric, each metric classified high / low / pass, and a score from the share of passing
// metrics. Pure code: the activities that read the samples from Prometheus call it; workflow
// code never does (it only records the verdict).

/** The fewest samples a comparison may take per side: below it a metric has no verdict. */
export const MIN_SAMPLES_FLOOR = 3;
/** The most samples a comparison takes per side (the samples kept in history are bounded). */
export const MAX_SAMPLES = 10_000;

export interface MannWhitneyResult {
  /** U of the first sample (`x`): how many (x, y) pairs have x above y, ties counting a half. */
  u: number;
  /** Two-sided p-value of the normal approximation. */
  p: number;
  /** The standardised statistic (continuity-corrected); 0 when every value is tied. */
  z: number;
}

/**
 * The Mann-Whitney U test of two independent samples, as SciPy's
 * `mannwhitneyu(x, y, alternative='two-sided', method='asymptotic', use_continuity=True)`:
 *
 * - two-sided: the larger of U1 = R1 - n1(n1+1)/2 and U2 = n1·n2 - U1 is compared with its mean
 *   n1·n2/2, and p = 2·P(Z ≥ z), capped at 1;
 * - normal approximation, never the exact distribution, whatever the sample sizes;
 * - ties: tied values take the average of their ranks, and the variance is corrected for them,
 *   σ² = n1·n2/12 · ((n + 1) - Σ(t³ - t) / (n(n - 1))), t the size of each group of ties;
 * - continuity correction: z = (max(U1, U2) - n1·n2/2 - 0.5) / σ.
 *
 * When every value is tied (σ = 0) nothing tells the samples apart: p = 1. The returned `u` is
 * U1, SciPy's statistic. Checked against SciPy in test/analysis-statistics.fast.test.ts.
 */
export function mannWhitneyU(x: readonly number[], y: readonly number[]): MannWhitneyResult {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('mannWhitneyU: each sample needs at least one value');
  if ([...x, ...y].some((v) => !Number.isFinite(v))) throw new RangeError('mannWhitneyU: samples must be finite');
  const n = n1 + n2;
  const all = [...x.map((v) => ({ v, first: true })), ...y.map((v) => ({ v, first: false }))].sort((a, b) => a.v - b.v);
  let rankSumX = 0;
  let tieTerm = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && all[j + 1].v === all[i].v) j++;
    const t = j - i + 1;
    const rank = (i + 1 + j + 1) / 2;
    for (let k = i; k <= j; k++) if (all[k].first) rankSumX += rank;
    tieTerm += t * t * t - t;
    i = j + 1;
  }
  const u1 = rankSumX - (n1 * (n1 + 1)) / 2;
  const u = Math.max(u1, n1 * n2 - u1);
  const mean = (n1 * n2) / 2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  if (!(sigma > 0)) return { u: u1, p: 1, z: 0 };
  const z = (u - mean - 0.5) / sigma;
  return { u: u1, p: Math.min(1, 2 * normalUpperTail(z)), z };
}

/** P(Z ≥ z) for a standard normal Z, to about 1e-14 relative (erfc by series and continued fraction). */
export function normalUpperTail(z: number): number {
  return erfc(z / Math.SQRT2) / 2;
}

function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 2) {
    // erf(x) = 2/√π · e^(-x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)): positive terms, no cancellation.
    let term = x;
    let sum = x;
    for (let k = 1; k < 200 && term > sum * 1e-17; k++) {
      term *= (2 * x * x) / (2 * k + 1);
      sum += term;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
  }
  if (x > 27) return 0;
  // erfc(x) = e^(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), by the modified Lentz method.
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    d = x + a * d;
    d = d === 0 ? tiny : d;
    c = x + a / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** Which change of a metric is a regression: `increase` for errors and latency, `decrease` for throughput. */
export const BAD_DIRECTIONS = ['increase', 'decrease', 'either'] as const;
export type BadDirection = (typeof BAD_DIRECTIONS)[number];

/** One metric's verdict: `high` / `low` when the canary differs significantly, `nodata` with too few samples. */
export type Classification = 'high' | 'low' | 'pass' | 'nodata';

export interface MetricSpec {
  name: string;
  /** The direction that counts as a regression; a significant change the other way passes. */
  bad: BadDirection;
  /** Failing it fails the whole comparison (score 0). */
  critical?: boolean;
  /**
   * Kayenta's effect size: a significant increase whose canary median is at most this many
   * times the baseline's is no regression (1.5: up to 50% more). Absent: any significant change.
   */
  allowedIncrease?: number;
  /** The same for a decrease: a canary median at least this share of the baseline's (0.8) passes. */
  allowedDecrease?: number;
}

export interface ComparisonSpec {
  /** Confidence of each metric's test, e.g. 0.95: a difference counts when p < 1 - confidence. */
  confidence: number;
  /** The fewest samples per side (canary and baseline) a metric needs for a verdict. */
  minSamples: number;
  /** Score (0-100) at or above which the canary passes. */
  passScore: number;
  /** Score at or above which (and below passScore) the comparison is marginal: a person decides. */
  marginalScore: number;
  metrics: MetricSpec[];
}

export interface MetricVerdict {
  name: string;
  classification: Classification;
  /** Whether this metric counts as passing (a significant change in the harmless direction does). */
  passed: boolean;
  critical: boolean;
  canarySamples: number;
  baselineSamples: number;
  /** Absent for `nodata`. */
  u?: number;
  p?: number;
  canaryMedian?: number;
  baselineMedian?: number;
  /** Why, in words: "p = 0.0007 < 0.05: canary higher (median 0.05 vs 0.01)". */
  detail: string;
}

export type ComparisonOutcome = 'pass' | 'marginal' | 'fail' | 'inconclusive';

export interface ComparisonVerdict {
  outcome: ComparisonOutcome;
  /** 0-100: the share of passing metrics; 0 when a critical metric failed. */
  score: number;
  passScore: number;
  marginalScore: number;
  confidence: number;
  metrics: MetricVerdict[];
  /** Why, in words, naming the failing metrics. */
  reason: string;
}

/**
 * Kayenta's judgement of a canary against its baseline. Each metric: with fewer than
 * `minSamples` on either side, `nodata`; else a two-sided Mann-Whitney U test (mannWhitneyU)
 * at `confidence`: p < 1 - confidence is `high` or `low` by the side U falls on (the canary's U
 * above n1·n2/2: its values tend to be higher; medians can tie where most values are 0), else
 * `pass`. A metric passes unless it moved in its bad direction. Score = 100 × passing / all
 * metrics, rounded down to a tenth.
 *
 * The outcome: a critical metric failing → `fail` with score 0. A metric without data never
 * passes: the comparison is `inconclusive` unless it fails even counting every such metric
 * as passing. Otherwise `pass` at or above passScore, `marginal` at or above marginalScore,
 * else `fail`.
 */
export function compareCanary(
  spec: ComparisonSpec,
  samples: Record<string, { canary: readonly number[]; baseline: readonly number[] }>,
): ComparisonVerdict {
  checkComparisonSpec(spec);
  const alpha = 1 - spec.confidence;
  const metrics = spec.metrics.map((m): MetricVerdict => {
    const s = samples[m.name] ?? { canary: [], baseline: [] };
    const canary = s.canary.filter(Number.isFinite);
    const baseline = s.baseline.filter(Number.isFinite);
    const base = {
      name: m.name,
      critical: m.critical === true,
      canarySamples: canary.length,
      baselineSamples: baseline.length,
    };
    if (canary.length < spec.minSamples || baseline.length < spec.minSamples) {
      return {
        ...base,
        classification: 'nodata',
        passed: false,
        detail:
          `too few samples: ${canary.length} canary, ${baseline.length} baseline; ` +
          `at least ${spec.minSamples} each`,
      };
    }
    const { u, p } = mannWhitneyU(canary.slice(0, MAX_SAMPLES), baseline.slice(0, MAX_SAMPLES));
    const canaryMedian = median(canary);
    const baselineMedian = median(baseline);
    // The test's own direction: U of the canary above its mean n1·n2/2 means canary values tend to be higher.
    const differs = p < alpha;
    const meanU = (canary.length * baseline.length) / 2;
    let classification: Classification = !differs ? 'pass' : u > meanU ? 'high' : 'low';
    // A difference too small to matter, however significant: within the declared effect size.
    const within =
      (classification === 'high' &&
        m.allowedIncrease !== undefined &&
        canaryMedian <= baselineMedian * m.allowedIncrease) ||
      (classification === 'low' &&
        m.allowedDecrease !== undefined &&
        canaryMedian >= baselineMedian * m.allowedDecrease);
    const moved = classification === 'high' ? 'higher' : 'lower';
    if (within) classification = 'pass';
    const passed =
      classification === 'pass' ||
      (m.bad === 'increase' && classification === 'low') ||
      (m.bad === 'decrease' && classification === 'high');
    const medians = `median ${round(canaryMedian)} vs ${round(baselineMedian)}`;
    const allowed = moved === 'higher' ? `×${m.allowedIncrease}` : `×${m.allowedDecrease}`;
    const detail = within
      ? `p = ${round(p)} < ${round(alpha)}: canary ${moved} (${medians}), within the allowed ${allowed}`
      : differs
        ? `p = ${round(p)} < ${round(alpha)}: canary ${moved} (${medians})` +
          (passed ? `, which is not a regression (bad: ${m.bad})` : '')
        : `p = ${round(p)}: no significant difference (${medians})`;
    return { ...base, classification, passed, u, p, canaryMedian, baselineMedian, detail };
  });

  const total = metrics.length;
  const passing = metrics.filter((m) => m.passed).length;
  const noData = metrics.filter((m) => m.classification === 'nodata');
  const failing = metrics.filter((m) => !m.passed && m.classification !== 'nodata');
  const criticalFailed = failing.filter((m) => m.critical);
  const scoreOf = (n: number) => Math.floor((1000 * n) / total) / 10;
  const common = {
    passScore: spec.passScore,
    marginalScore: spec.marginalScore,
    confidence: spec.confidence,
    metrics,
  };
  const names = (ms: MetricVerdict[]) => ms.map((m) => `${m.name} (${m.classification})`).join(', ');
  if (criticalFailed.length)
    return { ...common, outcome: 'fail', score: 0, reason: `critical metric failed: ${names(criticalFailed)}` };
  const score = scoreOf(passing);
  const best = scoreOf(passing + noData.length);
  const band = (s: number): ComparisonOutcome =>
    s >= spec.passScore ? 'pass' : s >= spec.marginalScore ? 'marginal' : 'fail';
  if (noData.length && band(best) !== 'fail') {
    return {
      ...common,
      outcome: 'inconclusive',
      score,
      reason: `too few samples for ${noData.map((m) => m.name).join(', ')}: no verdict without them`,
    };
  }
  const outcome = band(score);
  const failed = failing.length ? `; failing: ${names(failing)}` : '';
  const reason =
    outcome === 'pass'
      ? `score ${score} ≥ ${spec.passScore}${failed}`
      : outcome === 'marginal'
        ? `score ${score} is marginal (${spec.marginalScore} ≤ score < ${spec.passScore})${failed}`
        : `score ${score} < ${spec.marginalScore}${failed}`;
  return { ...common, outcome, score, reason };
}

/** Throws a RangeError naming what is out of bounds; the inventory's schema checks the same. */
export function checkComparisonSpec(spec: ComparisonSpec): void {
  const wrong = (what: string) => {
    throw new RangeError(`comparison: ${what}`);
  };
  if (!(spec.confidence >= 0.5 && spec.confidence < 1)) wrong(`confidence ${spec.confidence} is not in [0.5, 1)`);
  if (!Number.isInteger(spec.minSamples) || spec.minSamples < MIN_SAMPLES_FLOOR || spec.minSamples > MAX_SAMPLES)
    wrong(`minSamples ${spec.minSamples} is not a whole number in [${MIN_SAMPLES_FLOOR}, ${MAX_SAMPLES}]`);
  if (!(spec.passScore > 0 && spec.passScore <= 100)) wrong(`passScore ${spec.passScore} is not in (0, 100]`);
  if (!(spec.marginalScore >= 0 && spec.marginalScore <= spec.passScore))
    wrong(`marginalScore ${spec.marginalScore} is not in [0, passScore]`);
  if (!spec.metrics.length) wrong('no metrics');
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function round(v: number): string {
  return Number(v.toPrecision(3)).toString();
}
