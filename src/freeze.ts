// Freeze windows: when an environment takes no changes (issue 24). Declared in the inventory
// (`freezes:`), per environment and per runbook, recurring in an IANA timezone or dated, and
// evaluated here on the worker, in an activity, never in workflow code: a workflow only sleeps
// until the time this returns. Timezones come from Intl (Node's ICU data): no table of our own.

/** How far ahead an opening is looked for; a freeze longer than this is reported as not opening. */
export const HORIZON_MS = 400 * 86_400_000;
const MAX_WINDOWS = 100;
export const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Day = (typeof DAYS)[number];

/** `HH:MM`, 00:00 to 24:00. */
const CLOCK = '^(?:[01]\\d|2[0-3]):[0-5]\\d$|^24:00$';
/** A local date and time (`2026-12-23T18:00`), or an instant with its offset (`...Z`, `...+01:00`). */
const DATE_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(?::\\d{2})?(?:Z|[+-]\\d{2}:\\d{2})?$';
const NAME = '^[a-z][a-z0-9-]{0,62}$';

/** Every week on `days`, from `from` to `to` local time; `to` at or before `from` ends the next day. */
export interface RecurringWindow {
  name: string;
  days: Day[];
  from: string;
  to: string;
  timezone?: string;
}

/** From `start` to `end`, local times in the timezone unless they carry an offset. */
export interface DatedWindow {
  name: string;
  start: string;
  end: string;
  timezone?: string;
}

export type FreezeWindow = RecurringWindow | DatedWindow;

export interface Freezes {
  /** The timezone of windows that name none (IANA: Europe/Paris); UTC when absent. */
  timezone?: string;
  /** Windows that hold every mutating runbook but those `exempt`. */
  windows: FreezeWindow[];
  /** Runbooks no freeze of this environment holds (backup, renew-certificate: they must keep running). */
  exempt: string[];
  /** Windows that hold one runbook only, besides the environment's. */
  runbooks: Record<string, FreezeWindow[]>;
}

const windowSchema = {
  type: 'object',
  required: ['name'],
  if: { required: ['days'] },
  then: {
    additionalProperties: false,
    required: ['name', 'days', 'from', 'to'],
    properties: {
      name: { type: 'string', pattern: NAME },
      days: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: [...DAYS] } },
      from: { type: 'string', pattern: CLOCK },
      to: { type: 'string', pattern: CLOCK },
      timezone: { type: 'string', maxLength: 100 },
    },
  },
  else: {
    additionalProperties: false,
    required: ['name', 'start', 'end'],
    properties: {
      name: { type: 'string', pattern: NAME },
      start: { type: 'string', pattern: DATE_TIME },
      end: { type: 'string', pattern: DATE_TIME },
      timezone: { type: 'string', maxLength: 100 },
    },
  },
};
const windows = { type: 'array', maxItems: MAX_WINDOWS, items: windowSchema, default: [] };

/** The inventory's `freezes:` key, plugged into src/inventory.ts's schema. */
export const FREEZES_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    timezone: { type: 'string', maxLength: 100 },
    windows,
    exempt: { type: 'array', items: { type: 'string', pattern: NAME }, uniqueItems: true, default: [] },
    runbooks: {
      type: 'object',
      default: {},
      propertyNames: { pattern: NAME },
      additionalProperties: { type: 'array', maxItems: MAX_WINDOWS, items: windowSchema },
    },
  },
};

/** What the schema cannot say: timezones Intl knows, dated windows that end after they start. */
export function checkFreezes(f: Freezes): void {
  checkZone(f.timezone, 'freezes.timezone');
  const all: [string, FreezeWindow[]][] = [
    ['freezes.windows', f.windows],
    ...Object.entries(f.runbooks).map(([r, ws]): [string, FreezeWindow[]] => [`freezes.runbooks.${r}`, ws]),
  ];
  for (const [at, ws] of all) {
    ws.forEach((w, i) => {
      checkZone(w.timezone, `${at}.${i}.timezone`);
      if ('start' in w) {
        const zone = w.timezone ?? f.timezone ?? 'UTC';
        const [s, e] = [parseDateTime(w.start, zone), parseDateTime(w.end, zone)];
        if (!(e > s)) throw new Error(`${at}.${i} (${w.name}): end ${w.end} is not after start ${w.start}`);
      }
    });
  }
}

function checkZone(zone: string | undefined, at: string): void {
  if (zone === undefined) return;
  try {
    formatter(zone);
  } catch {
    throw new Error(`${at}: ${JSON.stringify(zone.slice(0, 100))} is not an IANA timezone (e.g. Europe/Paris)`);
  }
}

/** Whether a run of `runbook` may start at `nowMs`, and if not, which window holds it and until when. */
export type FreezeStatus =
  | { frozen: false }
  | {
      frozen: true;
      /** The window that holds it now (the first declared, where several do). */
      window: string;
      /** When no window holds it any more (chained windows followed); absent: not within HORIZON_MS. */
      opensAt?: string;
      /** `opensAt` as people there read it: "Mon 2026-12-07 09:00 Europe/Paris". */
      opensAtLocal?: string;
    };

/** The freeze of `runbook` on an environment with `freezes`, at `nowMs`. An exempt runbook is never frozen. */
export function freezeAt(freezes: Freezes, runbook: string, nowMs: number): FreezeStatus {
  if (freezes.exempt.includes(runbook)) return { frozen: false };
  const ws = [...freezes.windows, ...(freezes.runbooks[runbook] ?? [])];
  const zone = freezes.timezone ?? 'UTC';
  const first = covering(ws, zone, nowMs);
  if (!first.length) return { frozen: false };
  let t = nowMs;
  for (let holding = first; holding.length; holding = covering(ws, zone, t)) {
    t = Math.max(...holding.map((h) => h.end));
    if (t - nowMs > HORIZON_MS) return { frozen: true, window: first[0].name };
  }
  return { frozen: true, window: first[0].name, opensAt: new Date(t).toISOString(), opensAtLocal: local(t, zone) };
}

/**
 * The first window of `runbook` that begins after `afterMs` and at most `withinMs` later: a run
 * that started before it is held at its first step boundary from then on (the workflow compares
 * with its own clock, so no query per step). None for an exempt runbook.
 */
export function nextFreezeStart(
  freezes: Freezes,
  runbook: string,
  afterMs: number,
  withinMs: number,
): { window: string; startsAt: string } | undefined {
  if (freezes.exempt.includes(runbook)) return undefined;
  const zone = freezes.timezone ?? 'UTC';
  let best: { window: string; at: number } | undefined;
  const consider = (window: string, at: number) => {
    if (at > afterMs && at - afterMs <= withinMs && (!best || at < best.at)) best = { window, at };
  };
  for (const w of [...freezes.windows, ...(freezes.runbooks[runbook] ?? [])]) {
    const z = w.timezone ?? zone;
    if ('start' in w) {
      consider(w.name, parseDateTime(w.start, z));
      continue;
    }
    const first = localParts(afterMs, z);
    const [fh, fm] = clock(w.from);
    for (let d = 0; d <= Math.ceil(withinMs / 86_400_000) + 1; d++) {
      const day = addDays(first, d);
      if (!w.days.includes(DAYS[weekday(day)])) continue;
      const at = zonedToUtc({ ...day, hour: fh, minute: fm }, z);
      if (at > afterMs) {
        consider(w.name, at);
        break;
      }
    }
  }
  return best && { window: best.window, startsAt: new Date(best.at).toISOString() };
}

/** The windows holding instant `t`, each with when it ends. */
function covering(ws: FreezeWindow[], defaultZone: string, t: number): { name: string; end: number }[] {
  const out: { name: string; end: number }[] = [];
  for (const w of ws) {
    const zone = w.timezone ?? defaultZone;
    if ('start' in w) {
      const [s, e] = [parseDateTime(w.start, zone), parseDateTime(w.end, zone)];
      if (s <= t && t < e) out.push({ name: w.name, end: e });
      continue;
    }
    // A weekly window that covers t started on t's local day or the day before (it lasts at most a day).
    const today = localParts(t, zone);
    for (const back of [1, 0]) {
      const day = addDays(today, -back);
      if (!w.days.includes(DAYS[weekday(day)])) continue;
      const [fh, fm] = clock(w.from);
      const [th, tm] = clock(w.to);
      const s = zonedToUtc({ ...day, hour: fh, minute: fm }, zone);
      const endDay = th * 60 + tm <= fh * 60 + fm ? addDays(day, 1) : day;
      const e = zonedToUtc({ ...endDay, hour: th, minute: tm }, zone);
      if (s <= t && t < e) out.push({ name: w.name, end: e });
    }
  }
  return out;
}

interface LocalDate {
  year: number;
  month: number;
  day: number;
}
interface LocalTime extends LocalDate {
  hour: number;
  minute: number;
  second?: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, f);
  }
  return f;
}

function localParts(t: number, zone: string): Required<LocalTime> {
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(new Date(t))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return {
    year: parts.year,
    month: parts.month,
    day: parts.day,
    hour: parts.hour,
    minute: parts.minute,
    second: parts.second,
  };
}

/** The zone's offset from UTC at instant `t`, in ms (whole seconds). */
function offsetAt(t: number, zone: string): number {
  const whole = Math.floor(t / 1000) * 1000;
  const p = localParts(whole, zone);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - whole;
}

/**
 * The instant a local wall time names in `zone`. A time a spring-forward skips is moved on by
 * the gap (02:30 → 03:30 where 02:00 jumps to 03:00); a time a fall-back repeats is its first
 * occurrence. These are Temporal's (the TC39 proposal's) `compatible` choices.
 */
export function zonedToUtc(l: LocalTime, zone: string): number {
  const asUtc = Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second ?? 0);
  const before = offsetAt(asUtc - 86_400_000, zone);
  const after = offsetAt(asUtc + 86_400_000, zone);
  const valid = [asUtc - before, asUtc - after].filter((t) => offsetAt(t, zone) === asUtc - t);
  if (valid.length) return Math.min(...valid);
  return asUtc - before;
}

function parseDateTime(text: string, zone: string): number {
  if (/(?:Z|[+-]\d{2}:\d{2})$/.test(text)) return Date.parse(text);
  const [date, time] = text.split('T');
  const [year, month, day] = date.split('-').map(Number);
  const [hour, minute, second] = time.split(':').map(Number);
  return zonedToUtc({ year, month, day, hour, minute, second: second ?? 0 }, zone);
}

function clock(text: string): [number, number] {
  const [h, m] = text.split(':').map(Number);
  return [h, m];
}

function addDays(d: LocalDate, n: number): LocalDate {
  const t = new Date(Date.UTC(d.year, d.month - 1, d.day + n));
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate() };
}

function weekday(d: LocalDate): number {
  return new Date(Date.UTC(d.year, d.month - 1, d.day)).getUTCDay();
}

function local(t: number, zone: string): string {
  const p = localParts(t, zone);
  const pad = (n: number) => String(n).padStart(2, '0');
  const day = DAYS[weekday(p)];
  return `${day} ${p.year}-${pad(p.month)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)} ${zone}`;
}
