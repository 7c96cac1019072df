// A threshold analysis judged as Argo Rollouts judges a metric: each measurement by its
// conditions, the series by its limits. Pure code, on the worker: the activity that queries
// Prometheus hands it the measurements so far and acts on the phase it returns.
import type { ThresholdAnalysis } from './declared';

/** `result < 0.05`, `result >= 100`: the only form a condition takes (no expression language). */
export const CONDITION = /^result\s*(<=|>=|==|!=|<|>)\s*(-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)$/;
export type Operator = '<' | '<=' | '>' | '>=' | '==' | '!=';

export interface Condition {
  op: Operator;
  value: number;
}

export function parseCondition(text: string): Condition {
  const m = CONDITION.exec(String(text).trim());
  if (!m)
    throw new Error(
      'expected "result <op> <number>" with <op> one of < <= > >= == !=, ' +
        `got ${JSON.stringify(String(text).slice(0, 100))}`,
    );
  return { op: m[1] as Operator, value: Number(m[2]) };
}

export function meets(value: number, c: Condition): boolean {
  switch (c.op) {
    case '<':
      return value < c.value;
    case '<=':
      return value <= c.value;
    case '>':
      return value > c.value;
    case '>=':
      return value >= c.value;
    case '==':
      return value === c.value;
    case '!=':
      return value !== c.value;
  }
}

/** One query's answer: a number, or why there is none (the query failed, or returned no series). */
export type Measurement = { value: number } | { error: string };

export type MeasurementPhase = 'Successful' | 'Failed' | 'Inconclusive' | 'Error';

/**
 * One measurement, as Argo judges it. With both conditions: the failure condition met → Failed,
 * else the success condition met → Successful, else Inconclusive. With the success condition
 * only: met → Successful, else Failed. With the failure condition only: met → Failed, else
 * Successful. No number (an error, no series, NaN or ±Inf) → Error, whatever the conditions.
 */
export function judgeMeasurement(analysis: ThresholdAnalysis, m: Measurement): MeasurementPhase {
  if ('error' in m || !Number.isFinite(m.value)) return 'Error';
  const success = analysis.successCondition !== undefined ? parseCondition(analysis.successCondition) : undefined;
  const failure = analysis.failureCondition !== undefined ? parseCondition(analysis.failureCondition) : undefined;
  if (failure && meets(m.value, failure)) return 'Failed';
  if (success) return meets(m.value, success) ? 'Successful' : failure ? 'Inconclusive' : 'Failed';
  return 'Successful';
}

/** Where a series of measurements stands: `Running` until one of the limits or the count decides it. */
export type SeriesPhase = 'Running' | 'Successful' | 'Failed' | 'Inconclusive';

export interface SeriesVerdict {
  phase: SeriesPhase;
  /** Counts of each measurement phase so far. */
  successful: number;
  failed: number;
  inconclusive: number;
  errors: number;
  /** The Error phases in a row at the end of the series. */
  consecutiveErrors: number;
  /** Why, in words, with the limit that decided it. */
  reason: string;
}

/**
 * The series so far, judged after each measurement (Argo's assessment of a metric):
 * - more Failed measurements than `failureLimit` → Failed, at once;
 * - more Inconclusive than `inconclusiveLimit` → Inconclusive, at once;
 * - more Errors in a row than `consecutiveErrorLimit` → Inconclusive: missing data is for a
 *   person to judge, never a silent pass;
 * - `count` measurements with a number (Errors do not count towards it) → Successful;
 * - otherwise Running: measure again after the interval.
 * The series is bounded: at most count × (consecutiveErrorLimit + 1) + consecutiveErrorLimit
 * measurements before it is decided.
 */
export function judgeSeries(analysis: ThresholdAnalysis, measurements: readonly Measurement[]): SeriesVerdict {
  const counts = { successful: 0, failed: 0, inconclusive: 0, errors: 0, consecutiveErrors: 0 };
  let phase: SeriesPhase = 'Running';
  let reason = `${analysis.count} measurements to take`;
  for (const m of measurements) {
    const judged = judgeMeasurement(analysis, m);
    if (judged === 'Error') {
      counts.errors++;
      counts.consecutiveErrors++;
    } else {
      counts.consecutiveErrors = 0;
      if (judged === 'Successful') counts.successful++;
      else if (judged === 'Failed') counts.failed++;
      else counts.inconclusive++;
    }
    const taken = counts.successful + counts.failed + counts.inconclusive;
    const shown = 'error' in m ? m.error : String(m.value);
    if (counts.failed > analysis.failureLimit) {
      phase = 'Failed';
      reason =
        `${counts.failed} of ${taken} measurements failed (${condition(analysis)}), ` +
        `more than the failure limit ${analysis.failureLimit}; the last: ${shown}`;
    } else if (counts.inconclusive > analysis.inconclusiveLimit) {
      phase = 'Inconclusive';
      reason =
        `${counts.inconclusive} of ${taken} measurements met neither condition (${condition(analysis)}), ` +
        `more than the inconclusive limit ${analysis.inconclusiveLimit}; the last: ${shown}`;
    } else if (counts.consecutiveErrors > analysis.consecutiveErrorLimit) {
      phase = 'Inconclusive';
      reason =
        `no data in ${counts.consecutiveErrors} measurements in a row, ` +
        `more than the limit ${analysis.consecutiveErrorLimit}; the last: ${shown}`;
    } else if (taken >= analysis.count) {
      phase = 'Successful';
      reason =
        `${taken} measurements: ${counts.successful} successful, ` +
        `${counts.failed} failed, ${counts.inconclusive} inconclusive`;
    } else {
      reason = `${taken} of ${analysis.count} measurements taken`;
    }
    if (phase !== 'Running') break;
  }
  return { phase, ...counts, reason };
}

function condition(a: ThresholdAnalysis): string {
  return [
    a.successCondition !== undefined ? `success: ${a.successCondition}` : '',
    a.failureCondition !== undefined ? `failure: ${a.failureCondition}` : '',
  ]
    .filter(Boolean)
    .join('; ');
}
