// Durations as operators type them: "90s", "10m", "1h30m", "7d", "500ms"; and as the engine
// shows them, in the same units. The one place for the pattern, the parser and the format.
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration as typed: whole numbers with units, e.g. 1h30m. */
export const DURATION = /^(?:\d+(?:ms|s|m|h|d))+$/;
/** A duration that is not zero: what a threshold or a timeout must be. */
export const POSITIVE_DURATION = /^(?=.*[1-9])(?:\d+(?:ms|s|m|h|d))+$/;

/**
 * The longest duration anything accepts. Beyond it a date computed from now stops being a
 * date, which fails the workflow task forever instead of the run (`100000000d`).
 */
export const MAX_DURATION_MS = 366 * UNIT_MS.d;
const MAX_TEXT = 40;

export function parseDuration(text: string, what = 'duration', maxMs = MAX_DURATION_MS): number {
  const trimmed = String(text).trim();
  if (trimmed.length > MAX_TEXT || !DURATION.test(trimmed)) {
    throw new Error(
      `${what}: expected a duration like 90s, 10m, 1h30m or 7d, got ${JSON.stringify(String(text).slice(0, MAX_TEXT))}`,
    );
  }
  let total = 0;
  for (const [, n, unit] of trimmed.matchAll(/(\d+)(ms|s|m|h|d)/g)) total += Number(n) * UNIT_MS[unit];
  if (total <= 0) throw new Error(`${what}: must be longer than zero, got ${JSON.stringify(text)}`);
  if (!(total <= maxMs)) throw new Error(`${what}: ${trimmed} is longer than the limit, ${formatDuration(maxMs)}`);
  return total;
}

/**
 * `12ms`, `3.4s`, `2m5s`, `1h2m`, `29d23h`: the two largest units, in the syntax parseDuration
 * reads (but for tenths of a second). `?` for what is no duration (a clock that went back).
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 59_950) return `${Math.round(ms / 100) / 10}s`;
  let rest = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || parts.length) parts.push(`${n}${unit}`);
  }
  return (
    parts
      .slice(0, 2)
      .filter((p) => !/^0/.test(p))
      .join('') || '0s'
  );
}
