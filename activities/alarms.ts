// Reading a run's alarms (src/alarms.ts) on the environment's Prometheus, for the timer the
// kernel keeps while a run goes (workflows/kernel/alarms.ts). One call reads every alarm the
// admission named, as the inventory declares it now; an alarm that cannot be read fires unless
// the environment says otherwise. A `reads` activity: it touches no host.
import type { AlarmFiring } from '../common/shared';
import { alarmTimeoutMs, evaluateAlarms, type Alarm, type InstantResult } from '../src/alarms';
import { environment } from './env-vars';

/** Asks `base`'s `/api/v1/query` for an instant query's answer, within `timeoutMs`. */
export type InstantQuery = (base: string, promql: string, timeoutMs: number) => Promise<InstantResult>;

let instantQuery: InstantQuery = fetchInstant;

/** For tests: another Prometheus client (a fake one); returns the one it replaced. */
export function useInstantQuery(query: InstantQuery): InstantQuery {
  const before = instantQuery;
  instantQuery = query;
  return before;
}

/** The alarms `alarms` of `env` that fire now (its declared ones only; names it no longer declares are skipped). */
export async function readAlarms(request: { env: string; alarms: string[] }): Promise<{ firing: AlarmFiring[] }> {
  const env = environment(request.env);
  const declared = env.alarms.rules;
  const watched = request.alarms
    .filter((name) => Object.prototype.hasOwnProperty.call(declared, name))
    .map((name): [string, Alarm] => [name, declared[name]]);
  const base = String(env.vars.prometheusUrl ?? '');
  const timeoutMs = alarmTimeoutMs(env.alarms);
  const firing = await evaluateAlarms(watched, (promql) => {
    if (!base) throw new Error('vars.prometheusUrl is not set');
    return instantQuery(base, promql, timeoutMs);
  });
  return { firing };
}

/** The minimal client until the worker's own Prometheus client (activities/prometheus.ts) is in. */
async function fetchInstant(base: string, promql: string, timeoutMs: number): Promise<InstantResult> {
  const url = new URL('/api/v1/query', base);
  url.searchParams.set('query', promql);
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const body = (await res.json().catch(() => undefined)) as
    { status?: string; data?: InstantResult; error?: string } | undefined;
  if (!res.ok || body?.status !== 'success' || !body.data)
    throw new Error(`Prometheus answered ${res.status}${body?.error ? `: ${body.error}` : ''}`);
  return body.data;
}
