// Reading a run's alarms (src/alarms.ts) on the environment's Prometheus, for the timer the
// kernel keeps while a run goes (workflows/kernel/alarms.ts). One call reads every alarm the
// admission named, as the inventory declares it now; an alarm that cannot be read fires unless
// the environment says otherwise. A `reads` activity: it touches no host.
import type { AlarmFiring } from '../common/shared';
import { alarmTimeoutMs, evaluateAlarms, type Alarm } from '../src/alarms';
import { instantQuery as prometheusQuery, prometheusUrl, type PromResult } from './prometheus';
import { environment } from './env-vars';

/** Asks `base`'s `/api/v1/query` for an instant query's answer, within `timeoutMs`. */
export type InstantQuery = (base: string, promql: string, timeoutMs: number) => Promise<PromResult>;

/** The worker's Prometheus client (activities/prometheus.ts): bounded, its errors typed, never thrown. */
let instantQuery: InstantQuery = (base, promql, timeoutMs) => prometheusQuery(base, { query: promql }, { timeoutMs });

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
  const base = prometheusUrl(env);
  const timeoutMs = alarmTimeoutMs(env.alarms);
  const firing = await evaluateAlarms(watched, (promql) => {
    if (!base) throw new Error('vars.prometheusUrl is not set');
    return instantQuery(base, promql, timeoutMs);
  });
  return { firing };
}
