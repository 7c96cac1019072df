// The worker's Prometheus client: instant and range queries on an environment's Prometheus
// (vars.prometheusUrl), over its HTTP API (`/api/v1/query`, `/api/v1/query_range`). Not an
// activity module (activities/index.ts exports nothing of it): the activities that analyse a
// release and watch alarms call it.
//
// What it promises its callers:
// - every query has a timeout (the client's, and Prometheus's own `timeout` parameter);
// - the answer is bounded: its bytes, its series and its samples are capped, and an answer over
//   a cap is an error that says which cap, never a truncated result taken for the whole;
// - it never throws for a query that went wrong: an unreadable answer is a typed error
//   (`PromError`), distinct from any value, so a caller cannot take "no answer" for 0;
// - its errors never carry the URL's credentials (user:password@ is sent as Basic auth).
import type { Environment } from '../src/inventory';
import type { Measurement } from '../src/analysis/measurements';

/** One series: its labels, and its samples as [unix seconds, value] (NaN and ±Inf kept as such). */
export interface PromSeries {
  labels: Record<string, string>;
  samples: [number, number][];
}

export interface PromAnswer {
  ok: true;
  /** `vector` and `scalar` (instant queries) or `matrix` (range queries); a scalar is one unlabelled series. */
  resultType: 'vector' | 'matrix' | 'scalar';
  series: PromSeries[];
  /** Prometheus's own warnings, if any (at most a few, each cut short). */
  warnings: string[];
}

/**
 * Why there is no answer:
 * - `unreachable`: nothing answered (refused, reset, DNS);
 * - `timeout`: no complete answer within the query's timeout;
 * - `http`: an HTTP status other than 200 without Prometheus's error body (a proxy's 502, say);
 * - `query`: Prometheus refused or failed the query (bad PromQL, its own timeout, too many samples);
 * - `bad-response`: an answer that is not Prometheus's JSON;
 * - `too-large`: the answer is over one of the client's caps.
 */
export type PromErrorKind = 'unreachable' | 'timeout' | 'http' | 'query' | 'bad-response' | 'too-large';

export interface PromError {
  ok: false;
  kind: PromErrorKind;
  /** In words, with the query cut short; never the URL's credentials. */
  error: string;
}

export type PromResult = PromAnswer | PromError;

export interface QueryOptions {
  /** The query's timeout, the client's and Prometheus's. */
  timeoutMs?: number;
  /** The most series an answer may hold. */
  maxSeries?: number;
  /** The most samples an answer may hold, over all its series. */
  maxSamples?: number;
  /** The most bytes of the answer read. */
  maxBytes?: number;
  /** Headers sent with the query (an `authorization`, say). */
  headers?: Record<string, string>;
}

export const QUERY_DEFAULTS = {
  timeoutMs: 10_000,
  maxSeries: 100,
  maxSamples: 11_000,
  maxBytes: 4 * 1024 * 1024,
} as const;

/** Where an instant query is evaluated: now (Prometheus's clock), or at a given instant. */
export interface InstantQuery {
  query: string;
  /** Unix seconds; Prometheus's now when absent. */
  time?: number;
}

export interface RangeQuery {
  query: string;
  /** Unix seconds. */
  start: number;
  end: number;
  /** Seconds between samples. */
  step: number;
}

/** The environment's Prometheus, or undefined when it names none. */
export function prometheusUrl(e: Environment): string | undefined {
  const url = e.vars.prometheusUrl;
  return typeof url === 'string' && url ? url : undefined;
}

/** An instant query (`/api/v1/query`). */
export function instantQuery(base: string, q: InstantQuery, options: QueryOptions = {}): Promise<PromResult> {
  const params: Record<string, string> = { query: q.query };
  if (q.time !== undefined) params.time = String(q.time);
  return ask(base, '/api/v1/query', params, q.query, options);
}

/** A range query (`/api/v1/query_range`): at most maxSamples samples, so at most that many steps. */
export function rangeQuery(base: string, q: RangeQuery, options: QueryOptions = {}): Promise<PromResult> {
  const maxSamples = options.maxSamples ?? QUERY_DEFAULTS.maxSamples;
  if (!(q.step > 0) || !(q.end >= q.start))
    return Promise.resolve(
      failed('query', `a range from ${q.start} to ${q.end} by ${q.step}s is not a range`, q.query),
    );
  const steps = Math.floor((q.end - q.start) / q.step) + 1;
  if (steps > maxSamples)
    return Promise.resolve(
      failed('too-large', `${steps} steps asked, more than the ${maxSamples} samples an answer may hold`, q.query),
    );
  const params = { query: q.query, start: String(q.start), end: String(q.end), step: String(q.step) };
  return ask(base, '/api/v1/query_range', params, q.query, options);
}

/**
 * The one number an instant query's answer holds, as a measurement: an error when there is no
 * answer, no series (no data), more than one series, or a value that is not a finite number.
 */
export function oneNumber(result: PromResult): Measurement {
  if (!result.ok) return { error: `prometheus ${result.kind}: ${result.error}` };
  if (result.series.length === 0) return { error: 'no data: the query returned no series' };
  if (result.series.length > 1) return { error: `the query returned ${result.series.length} series, expected one` };
  const samples = result.series[0].samples;
  if (samples.length === 0) return { error: 'no data: the series has no sample' };
  const value = samples[samples.length - 1][1];
  if (!Number.isFinite(value)) return { error: `no data: the query returned ${value}` };
  return { value };
}

/** `series`' values by the value of `label` (a series without it under ''); the last sample of each. */
export function byLabel(result: PromAnswer, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of result.series) if (s.samples.length) out[s.labels[label] ?? ''] = s.samples[s.samples.length - 1][1];
  return out;
}

function failed(kind: PromErrorKind, why: string, query: string): PromError {
  return { ok: false, kind, error: `${why} (query ${JSON.stringify(short(query))})` };
}

function short(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

async function ask(
  base: string,
  path: string,
  params: Record<string, string>,
  query: string,
  options: QueryOptions,
): Promise<PromResult> {
  const timeoutMs = options.timeoutMs ?? QUERY_DEFAULTS.timeoutMs;
  const maxSeries = options.maxSeries ?? QUERY_DEFAULTS.maxSeries;
  const maxSamples = options.maxSamples ?? QUERY_DEFAULTS.maxSamples;
  const maxBytes = options.maxBytes ?? QUERY_DEFAULTS.maxBytes;
  let url: URL;
  try {
    url = new URL(base.endsWith('/') ? path.slice(1) : path, base.endsWith('/') ? base : `${base}/`);
  } catch {
    return failed('unreachable', 'the Prometheus URL is not a URL', query);
  }
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  // fetch refuses a URL with credentials: send them as Basic auth, and never show them.
  if (url.username || url.password) {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    headers.authorization ??= `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  // Prometheus stops evaluating at its own timeout (seconds), a little before ours.
  const body = new URLSearchParams({ ...params, timeout: String(Math.max(0.5, timeoutMs / 1000 - 0.5)) });
  const signal = AbortSignal.timeout(timeoutMs);
  let text: string;
  let status: number;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      body,
      signal,
      redirect: 'error',
    });
    status = response.status;
    const read = await readBounded(response, maxBytes);
    if (read === undefined)
      return failed('too-large', `the answer is over ${maxBytes} bytes, the most a query's answer may hold`, query);
    text = read;
  } catch (err) {
    if (signal.aborted || (err as Error).name === 'TimeoutError')
      return failed('timeout', `no answer within ${timeoutMs / 1000}s`, query);
    return failed('unreachable', `Prometheus did not answer: ${whyFetchFailed(err)}`, query);
  }
  let parsed: {
    status?: unknown;
    error?: unknown;
    errorType?: unknown;
    warnings?: unknown;
    data?: { resultType?: unknown; result?: unknown };
  };
  try {
    parsed = JSON.parse(text);
  } catch {
    if (status !== 200) return failed('http', `HTTP ${status}: ${short(text.trim(), 100)}`, query);
    return failed('bad-response', 'the answer is not JSON', query);
  }
  if (parsed?.status === 'error' || (status !== 200 && typeof parsed?.error === 'string'))
    return failed(
      'query',
      `Prometheus: ${String(parsed.errorType ?? '')} ${short(String(parsed.error ?? ''))}`.trim(),
      query,
    );
  if (status !== 200) return failed('http', `HTTP ${status}`, query);
  if (parsed?.status !== 'success' || typeof parsed.data !== 'object' || parsed.data === null)
    return failed('bad-response', "the answer is not Prometheus's: no status success and data", query);
  const warnings = Array.isArray(parsed.warnings) ? parsed.warnings.slice(0, 5).map((w) => short(String(w))) : [];
  const { resultType, result } = parsed.data;
  if (resultType === 'scalar') {
    const sample = sampleOf(result);
    if (!sample) return failed('bad-response', 'a scalar that is not [time, "value"]', query);
    return { ok: true, resultType, series: [{ labels: {}, samples: [sample] }], warnings };
  }
  if (resultType !== 'vector' && resultType !== 'matrix')
    return failed('bad-response', `a ${short(String(resultType), 40)} result, not a vector, matrix or scalar`, query);
  if (!Array.isArray(result)) return failed('bad-response', `a ${resultType} that is not a list`, query);
  if (result.length > maxSeries)
    return failed('too-large', `${result.length} series, more than the ${maxSeries} a query's answer may hold`, query);
  const series: PromSeries[] = [];
  let samples = 0;
  for (const r of result as { metric?: unknown; value?: unknown; values?: unknown }[]) {
    const labels = labelsOf(r?.metric);
    if (!labels) return failed('bad-response', 'a series without its labels', query);
    const raw = resultType === 'vector' ? [r.value] : r.values;
    if (!Array.isArray(raw)) return failed('bad-response', 'a series without its samples', query);
    samples += raw.length;
    if (samples > maxSamples)
      return failed('too-large', `more than the ${maxSamples} samples a query's answer may hold`, query);
    const parsedSamples: [number, number][] = [];
    for (const s of raw) {
      const sample = sampleOf(s);
      if (!sample) return failed('bad-response', 'a sample that is not [time, "value"]', query);
      parsedSamples.push(sample);
    }
    series.push({ labels, samples: parsedSamples });
  }
  return { ok: true, resultType, series, warnings };
}

function labelsOf(metric: unknown): Record<string, string> | undefined {
  if (typeof metric !== 'object' || metric === null || Array.isArray(metric)) return undefined;
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(metric)) labels[short(k, 100)] = short(String(v), 200);
  return labels;
}

/** `[1733580000.123, "0.5"]` → [time, value]; Prometheus writes NaN and ±Inf as "NaN", "+Inf", "-Inf". */
function sampleOf(s: unknown): [number, number] | undefined {
  if (!Array.isArray(s) || s.length !== 2 || typeof s[0] !== 'number' || typeof s[1] !== 'string') return undefined;
  const value = s[1] === '+Inf' ? Infinity : s[1] === '-Inf' ? -Infinity : Number(s[1]);
  if (Number.isNaN(value) && s[1] !== 'NaN') return undefined;
  return [s[0], value];
}

/** The body as text, or undefined past `maxBytes` (the rest is not read). */
async function readBounded(response: Response, maxBytes: number): Promise<string | undefined> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function whyFetchFailed(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  if (e.cause?.code) return e.cause.code;
  // Never the URL: a message may quote it.
  return (e.cause?.message ?? e.message ?? 'fetch failed').replace(/\b[a-z][a-z0-9+.-]*:\/\/\S*/gi, '<URL>');
}
