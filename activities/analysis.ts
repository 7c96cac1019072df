// Analyses of a rolling batch, on the worker (issue 24): the inventory's named analyses, picked
// by name and only tightened by the run's parameters (pickAnalysis), measured on the
// environment's Prometheus (activities/prometheus.ts) and judged by the pure code of
// src/analysis/: a threshold analysis by judgeSeries, `count` measurements one `interval`
// apart; a comparison by compareCanary, the upgraded hosts' samples against the hosts not yet
// upgraded over `window`. No query text comes from a run's input: the input names analyses and
// hosts; the queries are the inventory's, with `{{instances}}` filled in by the worker.
//
// A verdict is returned, never thrown: Failed, Inconclusive (a person decides) or Successful,
// with the measurements and samples it was judged on, bounded. Prometheus unreachable is no
// data, which is Inconclusive, never a pass.
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { parseDuration } from '../common/duration';
import { FailureType } from '../common/failure-types';
import {
  AnalysisRequestError,
  INSTANCES_PLACEHOLDER,
  pickAnalysis,
  TIGHTENING_KEYS,
  type Analysis,
  type AnalysisTightening,
  type ComparisonAnalysis,
  type ThresholdAnalysis,
} from '../src/analysis/declared';
import { judgeMeasurement, judgeSeries, type Measurement, type MeasurementPhase } from '../src/analysis/measurements';
import { compareCanary, MAX_SAMPLES, type ComparisonOutcome, type MetricVerdict } from '../src/analysis/statistics';
import type { Environment } from '../src/inventory';
import { environment } from './env-vars';
import {
  instantQuery,
  oneNumber,
  prometheusUrl,
  rangeQuery,
  type InstantQuery,
  type PromResult,
  type RangeQuery,
} from './prometheus';

/** The analyses one run may name, and the samples of each side of a metric kept in its record. */
export const MAX_ANALYSES = 5;
export const KEPT_SAMPLES = 60;
/** The measurements of a threshold analysis kept in its record (the newest). */
export const KEPT_MEASUREMENTS = 100;

export type AnalysisPhase = 'Successful' | 'Failed' | 'Inconclusive';

export interface ThresholdResult {
  name: string;
  kind: 'threshold';
  phase: AnalysisPhase;
  reason: string;
  query: string;
  successCondition?: string;
  failureCondition?: string;
  /** The newest KEPT_MEASUREMENTS measurements; `dropped` says how many older ones are not kept. */
  measurements: { at: string; value?: number; error?: string; phase: MeasurementPhase }[];
  dropped: number;
  successful: number;
  failed: number;
  inconclusive: number;
  errors: number;
}

export interface ComparisonMetricResult extends MetricVerdict {
  query: string;
  /** At most KEPT_SAMPLES of each side (the judgement used them all). */
  canary: number[];
  baseline: number[];
  /** Why a side has no samples: Prometheus's error. */
  error?: string;
}

export interface ComparisonResult {
  name: string;
  kind: 'comparison';
  phase: AnalysisPhase;
  reason: string;
  outcome: ComparisonOutcome;
  score: number;
  passScore: number;
  marginalScore: number;
  confidence: number;
  /** The window the samples were taken over (ISO times). */
  from: string;
  to: string;
  metrics: ComparisonMetricResult[];
}

/** A comparison with no hosts left to compare with (the last batch): not run, and said so. */
export interface SkippedResult {
  name: string;
  kind: Analysis['kind'];
  phase: 'Skipped';
  reason: string;
}

export type AnalysisResult = ThresholdResult | ComparisonResult | SkippedResult;

export interface BatchAnalysis {
  /** For the step's record: an analysis changes nothing. */
  changed: false;
  /** The verdict in a line, for the step's record. */
  detail: string;
  batch: number;
  phase: AnalysisPhase;
  reason: string;
  /** The analysis (and metric) that failed or was inconclusive: `canary/errors`, `error-rate`. */
  failing?: string;
  canary: string[];
  baseline: string[];
  analyses: AnalysisResult[];
  /** Tightenings asked that would have loosened an analysis, overruled. */
  overruled: string[];
}

export interface AnalyseBatchInput {
  env: string;
  /** The `analysis` parameter: inventory names, separated by commas. */
  analysis: string;
  /** The `analysis-tighten` parameter: `[name.]key=number`, separated by commas. */
  tighten?: string;
  batch: number;
  /** Hosts on the new release, taking traffic: the canary side, and `{{instances}}` of a threshold query. */
  canary: string[];
  /** Hosts not yet upgraded, taking traffic: the baseline; none in the last batch. */
  baseline: string[];
}

/** What a run asked, checked before its first batch: the analyses it will be judged by. */
export async function pickAnalyses(input: {
  env: string;
  analysis: string;
  tighten?: string;
}): Promise<{ analyses: { name: string; kind: Analysis['kind']; summary: string }[]; overruled: string[] }> {
  const e = environment(input.env);
  const { picked, overruled } = picked_(e, input.analysis, input.tighten);
  return {
    analyses: picked.map(({ name, analysis }) => ({ name, kind: analysis.kind, summary: summary(analysis) })),
    overruled,
  };
}

/** Runs the run's analyses of one batch, heartbeating, and returns their verdict. */
export async function analyseBatch(input: AnalyseBatchInput): Promise<BatchAnalysis> {
  const e = environment(input.env);
  const { picked, overruled } = picked_(e, input.analysis, input.tighten);
  const base = prometheusUrl(e)!;
  for (const host of [...input.canary, ...input.baseline])
    if (!Object.prototype.hasOwnProperty.call(e.hosts, host))
      throw ApplicationFailure.nonRetryable(`${input.env} has no host ${host}`, FailureType.BadInput);
  const ctx = Context.current();
  const deps: AnalysisDeps = {
    instant: (q, timeoutMs) => instantQuery(base, q, { timeoutMs }),
    range: (q, timeoutMs) => rangeQuery(base, q, { timeoutMs, maxSamples: 2 * MAX_SAMPLES }),
    sleep: (ms) => ctx.sleep(ms),
    now: () => Date.now(),
    beat: (details) => ctx.heartbeat(details),
  };
  return runAnalyses(picked, input, deps, overruled);
}

/** What the analyses need of the world; the activity gives the real ones, the fast test its own. */
export interface AnalysisDeps {
  instant: (q: InstantQuery, timeoutMs: number) => Promise<PromResult>;
  range: (q: RangeQuery, timeoutMs: number) => Promise<PromResult>;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  beat: (details: unknown) => void;
}

/**
 * Every picked analysis of the batch, side by side: the first to fail stops the others (their
 * records say so). Failed if any failed, else Inconclusive if any was, else Successful. A
 * comparison with no baseline left (the last batch) is skipped: thresholds judge that batch.
 */
export async function runAnalyses(
  picked: { name: string; analysis: Analysis }[],
  input: Pick<AnalyseBatchInput, 'batch' | 'canary' | 'baseline'>,
  deps: AnalysisDeps,
  overruled: string[] = [],
): Promise<BatchAnalysis> {
  if (!input.canary.length) {
    // Every host of the batch failed (rolled back, drained, counted against the error budget).
    const reason = 'no host of this batch runs the release: nothing to judge';
    return {
      changed: false,
      detail: `analysis Successful: ${reason}`,
      batch: input.batch,
      phase: 'Successful',
      reason,
      canary: [],
      baseline: input.baseline,
      analyses: picked.map(({ name, analysis }) => ({ name, kind: analysis.kind, phase: 'Skipped', reason })),
      overruled,
    };
  }
  const stop = { failed: undefined as string | undefined };
  const results = await Promise.all(
    picked.map(async ({ name, analysis }): Promise<AnalysisResult> => {
      let result: AnalysisResult;
      if (analysis.kind === 'threshold') result = await runThreshold(name, analysis, input.canary, deps, stop);
      else if (!input.baseline.length)
        result = {
          name,
          kind: 'comparison',
          phase: 'Skipped',
          reason: 'no host left to compare with (the last batch): judged by its threshold analyses only',
        };
      else result = await runComparison(name, analysis, input.canary, input.baseline, deps, stop);
      if (result.phase === 'Failed') stop.failed ??= name;
      return result;
    }),
  );
  const judged = results.filter((r): r is ThresholdResult | ComparisonResult => r.phase !== 'Skipped');
  const failed = judged.find((r) => r.phase === 'Failed');
  const inconclusive = judged.find((r) => r.phase === 'Inconclusive');
  const decisive = failed ?? inconclusive;
  let phase: AnalysisPhase = failed ? 'Failed' : inconclusive ? 'Inconclusive' : 'Successful';
  let reason: string;
  let failing: string | undefined;
  if (decisive) {
    failing = failingOf(decisive);
    reason = `${failing}: ${decisive.reason}`;
  } else if (!judged.length) {
    // Nothing judged this batch (comparisons only, and no host left to compare with): a person decides.
    phase = 'Inconclusive';
    reason = `no analysis could judge batch ${input.batch}: ${results.map((r) => `${r.name}: ${r.reason}`).join('; ')}`;
  } else reason = judged.map((r) => `${r.name}: ${r.reason}`).join('; ');
  const detail = `analysis ${phase}: ${reason}`;
  return {
    changed: false,
    detail: detail.length > 500 ? `${detail.slice(0, 500)}…` : detail,
    batch: input.batch,
    phase,
    reason,
    ...(failing ? { failing } : {}),
    canary: input.canary,
    baseline: input.baseline,
    analyses: results,
    overruled,
  };
}

/** `error-rate`, or `canary/errors` for the metrics of a comparison that failed (or had no data). */
function failingOf(r: ThresholdResult | ComparisonResult): string {
  if (r.kind === 'threshold') return r.name;
  const bad = r.metrics.filter((m) => !m.passed && (r.phase !== 'Failed' || m.classification !== 'nodata'));
  return bad.length ? bad.map((m) => `${r.name}/${m.name}`).join(', ') : r.name;
}

/** `{{instances}}` as a regex alternation of host names (a-z, 0-9, -, as the inventory names them). */
export function withInstances(query: string, hosts: string[]): string {
  for (const h of hosts)
    if (!/^[A-Za-z0-9_-]+$/.test(h))
      throw ApplicationFailure.nonRetryable(`not a host name: ${h}`, FailureType.BadInput);
  return query.split(INSTANCES_PLACEHOLDER).join(hosts.join('|'));
}

async function runThreshold(
  name: string,
  a: ThresholdAnalysis,
  hosts: string[],
  deps: AnalysisDeps,
  stop: { failed?: string },
): Promise<ThresholdResult> {
  const interval = parseDuration(a.interval, `analyses.${name}.interval`);
  const timeout = parseDuration(a.timeout, `analyses.${name}.timeout`);
  const query = withInstances(a.query, hosts);
  const measurements: Measurement[] = [];
  const kept: ThresholdResult['measurements'] = [];
  let verdict = judgeSeries(a, measurements);
  for (;;) {
    const at = new Date(deps.now()).toISOString();
    const m = oneNumber(await deps.instant({ query }, timeout));
    measurements.push(m);
    kept.push({ at, ...m, phase: judgeMeasurement(a, m) });
    if (kept.length > KEPT_MEASUREMENTS) kept.shift();
    verdict = judgeSeries(a, measurements);
    deps.beat({ analysis: name, measurements: measurements.length, phase: verdict.phase });
    if (verdict.phase !== 'Running') break;
    if (stop.failed) {
      verdict = { ...verdict, phase: 'Inconclusive', reason: `stopped: ${stop.failed} failed; ${verdict.reason}` };
      break;
    }
    await deps.sleep(interval);
  }
  const { phase, reason, successful, failed, inconclusive, errors } = verdict;
  return {
    name,
    kind: 'threshold',
    phase: phase as AnalysisPhase,
    reason,
    query,
    ...(a.successCondition !== undefined ? { successCondition: a.successCondition } : {}),
    ...(a.failureCondition !== undefined ? { failureCondition: a.failureCondition } : {}),
    measurements: kept,
    dropped: measurements.length - kept.length,
    successful,
    failed,
    inconclusive,
    errors,
  };
}

async function runComparison(
  name: string,
  a: ComparisonAnalysis,
  canary: string[],
  baseline: string[],
  deps: AnalysisDeps,
  stop: { failed?: string },
): Promise<ComparisonResult> {
  const interval = parseDuration(a.interval, `analyses.${name}.interval`);
  const window = parseDuration(a.window, `analyses.${name}.window`);
  const timeout = parseDuration(a.timeout, `analyses.${name}.timeout`);
  // The window starts now: the batch's hosts are back taking traffic. Waited out in steps, so
  // another analysis failing cuts it short.
  const start = deps.now();
  for (let left = window; left > 0 && !stop.failed; left = start + window - deps.now()) {
    await deps.sleep(Math.min(left, interval, 5000));
    deps.beat({ analysis: name, waited: deps.now() - start, window });
  }
  const end = deps.now();
  const range = (query: string) =>
    deps.range(
      {
        query,
        start: Math.ceil(start / 1000),
        end: Math.floor(end / 1000),
        step: interval / 1000,
      },
      timeout,
    );
  const samples: Record<string, { canary: number[]; baseline: number[] }> = {};
  const queried: Record<string, { query: string; error?: string }> = {};
  for (const m of a.metrics) {
    const errors: string[] = [];
    const side = async (hosts: string[], which: string) => {
      const r = await range(withInstances(m.query, hosts));
      if (!r.ok) {
        errors.push(`${which}: prometheus ${r.kind}: ${r.error}`);
        return [];
      }
      // One series in all, or one per host: every sample of the side is one of its samples.
      return r.series.flatMap((s) => s.samples.map(([, v]) => v)).filter(Number.isFinite);
    };
    samples[m.name] = { canary: await side(canary, 'canary'), baseline: await side(baseline, 'baseline') };
    queried[m.name] = { query: m.query, ...(errors.length ? { error: errors.join('; ') } : {}) };
    deps.beat({ analysis: name, metric: m.name });
  }
  const verdict = compareCanary(a, samples);
  const phase: AnalysisPhase =
    verdict.outcome === 'pass' ? 'Successful' : verdict.outcome === 'fail' ? 'Failed' : 'Inconclusive';
  const stopped = stop.failed && end - start < window ? `stopped after ${end - start} ms: ${stop.failed} failed; ` : '';
  return {
    name,
    kind: 'comparison',
    phase,
    reason: `${stopped}${verdict.reason}`,
    outcome: verdict.outcome,
    score: verdict.score,
    passScore: verdict.passScore,
    marginalScore: verdict.marginalScore,
    confidence: verdict.confidence,
    from: new Date(start).toISOString(),
    to: new Date(end).toISOString(),
    metrics: verdict.metrics.map((v) => ({
      ...v,
      ...queried[v.name],
      canary: samples[v.name].canary.slice(0, KEPT_SAMPLES),
      baseline: samples[v.name].baseline.slice(0, KEPT_SAMPLES),
    })),
  };
}

/** The analyses named (`a,b`), each tightened as asked; a BadInput failure for what cannot be followed. */
function picked_(
  e: Environment,
  names: string,
  tighten: string | undefined,
): { picked: { name: string; analysis: Analysis }[]; overruled: string[] } {
  const bad = (message: string) =>
    ApplicationFailure.nonRetryable(`${e.environment}: ${message}`, FailureType.BadInput);
  const list = String(names)
    .split(',')
    .map((n) => n.trim());
  if (!list.length || list.length > MAX_ANALYSES) throw bad(`name 1 to ${MAX_ANALYSES} analyses`);
  if (new Set(list).size !== list.length) throw bad(`an analysis is named twice: ${names}`);
  if (!prometheusUrl(e)) throw bad('vars.prometheusUrl is not set: no analysis can be measured');
  let asked: Record<string, AnalysisTightening>;
  try {
    asked = parseTightening(tighten ?? '', list, e.analyses);
  } catch (err) {
    throw bad((err as Error).message);
  }
  const overruled: string[] = [];
  const picked = list.map((name) => {
    try {
      const p = pickAnalysis(e.analyses, name, asked[name] ?? {});
      overruled.push(...p.overruled);
      return { name, analysis: p.analysis };
    } catch (err) {
      if (err instanceof AnalysisRequestError) throw bad(err.message);
      throw err;
    }
  });
  return { picked, overruled };
}

/**
 * `count=10,canary.minSamples=15`: a key with an analysis's name applies to it; a bare key to
 * every named analysis whose kind has it (and is refused where none has).
 */
export function parseTightening(
  text: string,
  names: string[],
  analyses: Record<string, Analysis>,
): Record<string, AnalysisTightening> {
  const out: Record<string, AnalysisTightening> = {};
  if (!text.trim()) return out;
  for (const part of text.split(',')) {
    const m = /^(?:([a-z][a-z0-9-]{0,62})\.)?([A-Za-z]+)=(-?[0-9]+(?:\.[0-9]+)?)$/.exec(part.trim());
    if (!m)
      throw new Error(`analysis-tighten: expected [analysis.]key=number, got ${JSON.stringify(part.slice(0, 100))}`);
    const [, only, key, value] = m;
    if (!(TIGHTENING_KEYS as readonly string[]).includes(key))
      throw new Error(`analysis-tighten: ${key} may not be asked; only ${TIGHTENING_KEYS.join(', ')}`);
    if (only && !names.includes(only)) throw new Error(`analysis-tighten: ${only} is not an analysis this run names`);
    const targets = only
      ? [only]
      : names.filter((n) => analyses[n] && key in (analyses[n] as unknown as Record<string, unknown>));
    if (!targets.length) throw new Error(`analysis-tighten: no analysis this run names has ${key}`);
    for (const t of targets) (out[t] ??= {})[key as keyof AnalysisTightening] = Number(value);
  }
  return out;
}

function summary(a: Analysis): string {
  if (a.kind === 'threshold') {
    const conditions = [a.successCondition, a.failureCondition].filter(Boolean).join('; ');
    return `${a.count} measurements ${a.interval} apart (${conditions}), failure limit ${a.failureLimit}`;
  }
  return (
    `${a.metrics.map((m) => `${m.name}${m.critical ? ' (critical)' : ''}`).join(', ')} ` +
    `every ${a.interval} over ${a.window}, pass ${a.passScore}, marginal ${a.marginalScore}`
  );
}
