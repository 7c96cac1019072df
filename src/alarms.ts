// Alarms that stop runs (issue 24, after AWS SSM's alarm-stopped automations): an environment
// declares PromQL expressions on its Prometheus (vars.prometheusUrl), which runbooks they stop
// and what a firing alarm does. The worker decides at a run's admission whether any alarm
// watches it (decideAlarms) and reads them from a timer in an activity (activities/alarms.ts);
// workflow code only sleeps and keeps a flag. Nothing here comes from a run's input.
import { parseDuration } from '../common/duration';
import { ALARM_ACTIONS, type AlarmAction, type AlarmFiring } from '../common/shared';

/** At most this many alarms per environment: each is one query every interval, per run. */
export const MAX_ALARMS = 20;
/** A query's length at most, in characters. */
export const MAX_ALARM_QUERY = 1000;
/** How often a run's alarms are read: between these, default 30s. */
export const ALARM_INTERVAL = { min: 1000, max: 300_000, default: '30s' } as const;
/** Each query's timeout: between 1s and 1m, default 10s, and never longer than the interval. */
export const ALARM_TIMEOUT = { min: 1000, max: 60_000, default: '10s' } as const;
/** How many runbook names `stops` and `remediation` list at most. */
const MAX_NAMES = 50;
const NAME = '^[a-z][a-z0-9-]{0,62}$';

export interface Alarm {
  /** An instant PromQL query: it fires when it returns any series (a scalar: a non-zero value). */
  query: string;
  description?: string;
  /** The runbooks it stops; absent: every mutating runbook. */
  stops?: string[];
  /** `undo` (default): the run stops and is undone; `gate`: a failure gate, a person decides. */
  then: AlarmAction;
  /** Whether an alarm that cannot be read (Prometheus down, a bad answer) counts as firing; default true. */
  unreadableFires: boolean;
}

export interface Alarms {
  /** How often a run reads its alarms (`30s`). */
  interval: string;
  /** Each query's timeout; default 10s, or the interval where that is shorter. */
  timeout?: string;
  /** Runbooks no alarm ever stops: what puts things right while an alarm fires. */
  remediation: string[];
  rules: Record<string, Alarm>;
}

const names = { type: 'array', maxItems: MAX_NAMES, uniqueItems: true, items: { type: 'string', pattern: NAME } };

/** The inventory's `alarms:` key, plugged into src/inventory.ts's schema. */
export const ALARMS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'PromQL alarms on vars.prometheusUrl that stop runs (docs/analysis-and-freezes.md#alarms)',
  properties: {
    interval: { type: 'string', default: ALARM_INTERVAL.default },
    timeout: { type: 'string' },
    remediation: { ...names, default: [] },
    rules: {
      type: 'object',
      default: {},
      maxProperties: MAX_ALARMS,
      propertyNames: { pattern: NAME },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['query'],
        properties: {
          query: { type: 'string', minLength: 1, maxLength: MAX_ALARM_QUERY },
          description: { type: 'string', maxLength: 500 },
          stops: { ...names, minItems: 1 },
          then: { enum: [...ALARM_ACTIONS], default: 'undo' },
          unreadableFires: { type: 'boolean', default: true },
        },
      },
    },
  },
};

/** What the schema cannot say: the durations, and alarms with nowhere to read them. */
export function checkAlarms(alarms: Alarms, prometheusUrl: string | undefined): void {
  const interval = parseDuration(alarms.interval, 'alarms.interval', ALARM_INTERVAL.max);
  if (interval < ALARM_INTERVAL.min) throw new Error(`alarms.interval: ${alarms.interval} is shorter than 1s`);
  if (alarms.timeout !== undefined) {
    const timeout = parseDuration(alarms.timeout, 'alarms.timeout', ALARM_TIMEOUT.max);
    if (timeout < ALARM_TIMEOUT.min) throw new Error(`alarms.timeout: ${alarms.timeout} is shorter than 1s`);
    if (timeout > interval)
      throw new Error(`alarms.timeout ${alarms.timeout} is longer than alarms.interval ${alarms.interval}`);
  }
  const rules = Object.keys(alarms.rules);
  if (rules.length && !prometheusUrl)
    throw new Error(
      `alarms.rules declares ${rules.join(', ')} but vars.prometheusUrl is not set: nowhere to read them`,
    );
  for (const [name, alarm] of Object.entries(alarms.rules)) {
    const both = (alarm.stops ?? []).filter((r) => alarms.remediation.includes(r));
    if (both.length)
      throw new Error(`alarms.rules.${name} stops ${both.join(', ')}, which alarms.remediation says is never stopped`);
  }
}

/** Each query's timeout, in ms: as declared, else 10s or the interval where that is shorter. */
export function alarmTimeoutMs(alarms: Alarms): number {
  if (alarms.timeout !== undefined) return parseDuration(alarms.timeout, 'alarms.timeout', ALARM_TIMEOUT.max);
  return Math.min(parseDuration(ALARM_TIMEOUT.default), parseDuration(alarms.interval, 'alarms.interval'));
}

/** Runbook names the alarms mention that are no runbook's (`known`): a typo would stop nothing. */
export function unknownRunbooks(alarms: Alarms, known: string[]): string[] {
  const problems: string[] = [];
  const check = (list: string[] | undefined, at: string) => {
    const unknown = (list ?? []).filter((r) => !known.includes(r));
    if (unknown.length)
      problems.push(`${at} names unknown runbooks: ${unknown.join(', ')} (runbooks: ${known.join(', ')})`);
  };
  check(alarms.remediation, 'alarms.remediation');
  for (const [name, alarm] of Object.entries(alarms.rules)) check(alarm.stops, `alarms.rules.${name}.stops`);
  return problems;
}

/** The alarms that stop a run of `runbook` (mutating or not): none for a remediation runbook. */
export function alarmsFor(alarms: Alarms, runbook: string, mutating: boolean): [string, Alarm][] {
  if (alarms.remediation.includes(runbook)) return [];
  return Object.entries(alarms.rules).filter(([, a]) => (a.stops ? a.stops.includes(runbook) : mutating));
}

/**
 * An instant query's answer, as the worker's Prometheus client gives it (activities/prometheus.ts
 * PromAnswer): a vector's series, or a scalar as one unlabelled series.
 */
export interface AlarmAnswer {
  ok?: true;
  resultType: string;
  series: { labels: Record<string, string>; samples: [number, number][] }[];
}

/** A query that went wrong, as the client says it (PromError): never a value. */
export interface AlarmUnread {
  ok: false;
  kind: string;
  error: string;
}

const MAX_VALUE_TEXT = 300;

/**
 * Whether an answer fires its alarm, and with what value: a vector fires when it holds any
 * series (as Prometheus's own alerting rules: write the condition into the expression, e.g.
 * `... > 0.05`), a scalar when it is neither 0 nor NaN. Any other type is an error (unreadable).
 */
export function fires(answer: AlarmAnswer): { fires: boolean; value: string } {
  const last = (s: AlarmAnswer['series'][number]) => s.samples[s.samples.length - 1]?.[1];
  if (answer.resultType === 'vector') {
    const series = answer.series;
    if (!series.length) return { fires: false, value: 'no series' };
    const first = series[0];
    const labels = Object.entries(first.labels)
      .map(([k, v]) => `${k}="${v}"`)
      .join(', ');
    const more = series.length > 1 ? ` (and ${series.length - 1} more series)` : '';
    const text = `${String(last(first))}${labels ? ` {${labels}}` : ''}${more}`;
    return { fires: true, value: text.slice(0, MAX_VALUE_TEXT) };
  }
  if (answer.resultType === 'scalar') {
    const value = answer.series[0] ? last(answer.series[0]) : NaN;
    return { fires: value !== 0 && !Number.isNaN(value), value: String(value) };
  }
  throw new Error(`a ${answer.resultType} answer: an alarm's query must give an instant vector or a scalar`);
}

/**
 * Reads `alarms` with `query` and returns those firing, in declared order. An alarm whose query
 * fails (or gives an answer of the wrong type) fires when it says unreadable ones do.
 */
export async function evaluateAlarms(
  alarms: [string, Alarm][],
  query: (promql: string) => Promise<AlarmAnswer | AlarmUnread>,
): Promise<AlarmFiring[]> {
  const read = await Promise.all(
    alarms.map(async ([name, alarm]): Promise<AlarmFiring | undefined> => {
      const at = { alarm: name, query: alarm.query, then: alarm.then };
      try {
        const answer = await query(alarm.query);
        if (answer.ok === false) throw new Error(`${answer.kind}: ${answer.error}`);
        const { fires: firing, value } = fires(answer);
        return firing ? { ...at, value } : undefined;
      } catch (err) {
        if (!alarm.unreadableFires) return undefined;
        const why = (err as Error)?.message ?? String(err);
        return { ...at, value: `unreadable: ${why}`.slice(0, MAX_VALUE_TEXT), unreadable: true };
      }
    }),
  );
  return read.filter((f): f is AlarmFiring => f !== undefined);
}
