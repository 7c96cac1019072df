// Named analyses, declared in the inventory (`analyses:`) and nowhere else: a run's parameters
// pick one by name and may only tighten it; no query text ever comes from a run's input.
// Two kinds, after the systems operators compare us with:
// - `threshold` (Argo Rollouts' AnalysisTemplate): one PromQL query measured every `interval`,
//   `count` times, each measurement judged by its success and failure conditions, the series by
//   its failure, inconclusive and consecutive-error limits (src/analysis/measurements.ts);
// - `comparison` (Spinnaker's Kayenta): each metric's samples on upgraded hosts against hosts
//   not yet upgraded over `window`, by src/analysis/statistics.ts.
import { parseDuration } from '../../common/duration';
import { MAX_SAMPLES, MIN_SAMPLES_FLOOR, BAD_DIRECTIONS, type BadDirection } from './statistics';
import { parseCondition } from './measurements';

/** The longest PromQL text an analysis may hold. */
export const MAX_QUERY_CHARS = 2000;
/** Where a comparison's query names the hosts it is asked about; the worker fills it in. */
export const INSTANCES_PLACEHOLDER = '{{instances}}';
/** Bounds of an interval between measurements, of a query's timeout and of a comparison's window. */
export const INTERVAL_BOUNDS = { min: 1000, max: 3_600_000 } as const;
export const TIMEOUT_BOUNDS = { min: 1000, max: 60_000 } as const;
export const WINDOW_MAX_MS = 86_400_000;
export const MAX_COUNT = 100;
export const MAX_METRICS = 20;

export interface ThresholdAnalysis {
  kind: 'threshold';
  description?: string;
  /** PromQL returning one number. */
  query: string;
  /** Between measurements, as a duration (`30s`). */
  interval: string;
  /** How many measurements make a Successful analysis. */
  count: number;
  /** `result < 0.05`: a measurement that meets it is Successful. */
  successCondition?: string;
  /** `result >= 0.05`: a measurement that meets it is Failed. */
  failureCondition?: string;
  /** Failed measurements tolerated: one more fails the analysis. */
  failureLimit: number;
  /** Inconclusive measurements tolerated: one more makes the analysis Inconclusive. */
  inconclusiveLimit: number;
  /** Measurements in a row without data (a query that failed or returned nothing) tolerated. */
  consecutiveErrorLimit: number;
  /** Each query's timeout. */
  timeout: string;
}

export interface ComparisonMetric {
  name: string;
  /** PromQL with {{instances}}, returning one series per host or one in all. */
  query: string;
  bad: BadDirection;
  critical: boolean;
  /** Kayenta's effect size: how much higher (a ratio ≥ 1) or lower (≤ 1) a canary's median may be. */
  allowedIncrease?: number;
  allowedDecrease?: number;
}

export interface ComparisonAnalysis {
  kind: 'comparison';
  description?: string;
  metrics: ComparisonMetric[];
  /** Sampled every `interval` over `window` on each side. */
  interval: string;
  window: string;
  confidence: number;
  minSamples: number;
  passScore: number;
  marginalScore: number;
  timeout: string;
}

export type Analysis = ThresholdAnalysis | ComparisonAnalysis;

const NAME = '^[a-z][a-z0-9-]{0,62}$';
const query = { type: 'string', minLength: 1, maxLength: MAX_QUERY_CHARS };
const duration = { type: 'string', maxLength: 40 };
const condition = { type: 'string', maxLength: 100 };

/** The inventory's `analyses:` key, plugged into src/inventory.ts's schema. */
export const ANALYSES_SCHEMA = {
  type: 'object',
  default: {},
  maxProperties: 100,
  propertyNames: { pattern: NAME },
  additionalProperties: {
    type: 'object',
    required: ['kind'],
    properties: { kind: { enum: ['threshold', 'comparison'] } },
    // if/then/else, not oneOf: Ajv fills in defaults there, and names the one kind's mistakes.
    if: { properties: { kind: { const: 'threshold' } } },
    then: {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'query', 'interval', 'count'],
      anyOf: [{ required: ['successCondition'] }, { required: ['failureCondition'] }],
      properties: {
        kind: { const: 'threshold' },
        description: { type: 'string', maxLength: 500 },
        query,
        interval: duration,
        count: { type: 'integer', minimum: 1, maximum: MAX_COUNT },
        successCondition: condition,
        failureCondition: condition,
        failureLimit: { type: 'integer', minimum: 0, maximum: MAX_COUNT, default: 0 },
        inconclusiveLimit: { type: 'integer', minimum: 0, maximum: MAX_COUNT, default: 0 },
        consecutiveErrorLimit: { type: 'integer', minimum: 0, maximum: 20, default: 4 },
        timeout: { ...duration, default: '10s' },
      },
    },
    else: {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'metrics', 'interval', 'window'],
      properties: {
        kind: { const: 'comparison' },
        description: { type: 'string', maxLength: 500 },
        metrics: {
          type: 'array',
          minItems: 1,
          maxItems: MAX_METRICS,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'query', 'bad'],
            properties: {
              name: { type: 'string', pattern: NAME },
              query,
              bad: { enum: [...BAD_DIRECTIONS] },
              critical: { type: 'boolean', default: false },
              allowedIncrease: { type: 'number', minimum: 1, maximum: 100 },
              allowedDecrease: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
            },
          },
        },
        interval: duration,
        window: duration,
        confidence: { type: 'number', minimum: 0.5, exclusiveMaximum: 1, default: 0.95 },
        minSamples: { type: 'integer', minimum: MIN_SAMPLES_FLOOR, maximum: MAX_SAMPLES, default: 10 },
        passScore: { type: 'number', exclusiveMinimum: 0, maximum: 100, default: 95 },
        marginalScore: { type: 'number', minimum: 0, maximum: 100, default: 75 },
        timeout: { ...duration, default: '10s' },
      },
    },
  },
};

/**
 * What the schema cannot say: durations within their bounds, conditions that parse, limits
 * below the count, a window that can hold minSamples samples, {{instances}} in every
 * comparison query, metric names unique. Throws an Error naming the analysis and the key.
 */
export function checkAnalyses(analyses: Record<string, Analysis>): void {
  for (const [name, a] of Object.entries(analyses)) {
    const at = (key: string) => `analyses.${name}.${key}`;
    const within = (text: string, key: string, min: number, max: number) => {
      const ms = parseDuration(text, at(key), max);
      if (ms < min) throw new Error(`${at(key)}: ${text} is shorter than ${min / 1000}s`);
      return ms;
    };
    const interval = within(a.interval, 'interval', INTERVAL_BOUNDS.min, INTERVAL_BOUNDS.max);
    within(a.timeout, 'timeout', TIMEOUT_BOUNDS.min, TIMEOUT_BOUNDS.max);
    if (a.kind === 'threshold') {
      for (const key of ['successCondition', 'failureCondition'] as const) {
        const text = a[key];
        if (text === undefined) continue;
        try {
          parseCondition(text);
        } catch (err) {
          throw new Error(`${at(key)}: ${(err as Error).message}`);
        }
      }
      if (a.failureLimit >= a.count)
        throw new Error(`${at('failureLimit')}: ${a.failureLimit} would let every one of ${a.count} measurements fail`);
      if (a.inconclusiveLimit >= a.count)
        throw new Error(`${at('inconclusiveLimit')}: ${a.inconclusiveLimit} is not below count, ${a.count}`);
    } else {
      const window = within(a.window, 'window', INTERVAL_BOUNDS.min, WINDOW_MAX_MS);
      const samples = Math.floor(window / interval);
      if (samples < a.minSamples)
        throw new Error(
          `analyses.${name}: a ${a.window} window sampled every ${a.interval} holds ${samples} samples, ` +
            `fewer than minSamples ${a.minSamples}: it could never pass`,
        );
      if (samples > MAX_SAMPLES)
        throw new Error(`analyses.${name}: ${samples} samples per side; at most ${MAX_SAMPLES}`);
      if (a.marginalScore > a.passScore)
        throw new Error(`${at('marginalScore')}: ${a.marginalScore} is above passScore ${a.passScore}`);
      const seen = new Set<string>();
      a.metrics.forEach((m, i) => {
        if (seen.has(m.name)) throw new Error(`${at(`metrics.${i}.name`)}: ${m.name} is named twice`);
        seen.add(m.name);
        if (!m.query.includes(INSTANCES_PLACEHOLDER))
          throw new Error(`${at(`metrics.${i}.query`)}: must name the hosts compared with ${INSTANCES_PLACEHOLDER}`);
      });
    }
  }
}

/**
 * What a run's parameters may ask of a named analysis: only numbers, each only in the direction
 * that judges the release more strictly (fewer failures tolerated, more measurements or samples,
 * higher scores, a lower confidence, which calls more differences significant).
 */
export interface AnalysisTightening {
  failureLimit?: number;
  inconclusiveLimit?: number;
  consecutiveErrorLimit?: number;
  count?: number;
  confidence?: number;
  minSamples?: number;
  passScore?: number;
  marginalScore?: number;
}

export const TIGHTENING_KEYS = [
  'failureLimit',
  'inconclusiveLimit',
  'consecutiveErrorLimit',
  'count',
  'confidence',
  'minSamples',
  'passScore',
  'marginalScore',
] as const satisfies readonly (keyof AnalysisTightening)[];

/** An analysis a run's input cannot follow at all: unknown, or a key its kind does not have. */
export class AnalysisRequestError extends Error {}

/**
 * The analysis `name` of `analyses`, tightened where `asked` says so. A request that would loosen
 * it is overruled, and `overruled` says so, as the run's other rules are (src/policy.ts).
 */
export function pickAnalysis(
  analyses: Record<string, Analysis>,
  name: string,
  asked: AnalysisTightening = {},
): { analysis: Analysis; name: string; overruled: string[] } {
  if (typeof name !== 'string' || !Object.prototype.hasOwnProperty.call(analyses, name)) {
    const known = Object.keys(analyses);
    throw new AnalysisRequestError(
      `no analysis ${JSON.stringify(String(name).slice(0, 100))} in the inventory ` +
        `(analyses: ${known.join(', ') || 'none'})`,
    );
  }
  if (typeof asked !== 'object' || asked === null || Array.isArray(asked))
    throw new AnalysisRequestError('the analysis asked must be an object of numbers');
  const declared = analyses[name];
  const analysis: Analysis = structuredClone(declared);
  const overruled: string[] = [];
  const own = analysis as unknown as Record<string, number>;
  for (const key of Object.keys(asked)) {
    if (!(TIGHTENING_KEYS as readonly string[]).includes(key))
      throw new AnalysisRequestError(`an analysis may not be asked ${JSON.stringify(key.slice(0, 100))}`);
    const value = (asked as Record<string, unknown>)[key];
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new AnalysisRequestError(`analysis ${key}: expected a number, got ${JSON.stringify(value)}`);
    if (!(key in own)) throw new AnalysisRequestError(`analysis ${name} is a ${analysis.kind}: it has no ${key}`);
    const was = own[key];
    const stricter = STRICTER[key as keyof AnalysisTightening];
    const [low, high] = RANGE[key as keyof AnalysisTightening];
    if (!(value >= low && value <= high))
      throw new AnalysisRequestError(`analysis ${key}: ${value} is not in [${low}, ${high}]`);
    if (WHOLE.includes(key) && !Number.isInteger(value))
      throw new AnalysisRequestError(`analysis ${key}: ${value} is not a whole number`);
    if (stricter === 'lower' ? value <= was : value >= was) own[key] = value;
    else
      overruled.push(
        `asked analysis ${name}'s ${key} ${value}; the inventory says ${was}, and a run may only tighten it`,
      );
  }
  if (analysis.kind === 'threshold') {
    if (analysis.failureLimit >= analysis.count) analysis.failureLimit = Math.max(0, analysis.count - 1);
  } else if (analysis.marginalScore > analysis.passScore) {
    overruled.push(`asked a marginal score above the pass score; kept ${analysis.passScore}`);
    analysis.marginalScore = analysis.passScore;
  }
  return { analysis, name, overruled };
}

const WHOLE: string[] = ['failureLimit', 'inconclusiveLimit', 'consecutiveErrorLimit', 'count', 'minSamples'];

const STRICTER: Record<keyof AnalysisTightening, 'lower' | 'higher'> = {
  failureLimit: 'lower',
  inconclusiveLimit: 'lower',
  consecutiveErrorLimit: 'lower',
  count: 'higher',
  confidence: 'lower',
  minSamples: 'higher',
  passScore: 'higher',
  marginalScore: 'higher',
};

const RANGE: Record<keyof AnalysisTightening, [number, number]> = {
  failureLimit: [0, MAX_COUNT],
  inconclusiveLimit: [0, MAX_COUNT],
  consecutiveErrorLimit: [0, 20],
  count: [1, MAX_COUNT],
  confidence: [0.5, 0.999],
  minSamples: [MIN_SAMPLES_FLOOR, MAX_SAMPLES],
  passScore: [0, 100],
  marginalScore: [0, 100],
};
