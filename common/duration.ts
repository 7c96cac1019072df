// Durations as operators type them: "90s", "10m", "1h30m", "7d", "500ms".
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(?:\d+(?:ms|s|m|h|d))+$/;

export function parseDuration(text: string, what = 'duration'): number {
  const trimmed = String(text).trim();
  if (!DURATION.test(trimmed)) throw new Error(`${what}: expected a duration like 90s, 10m, 1h30m or 7d, got ${JSON.stringify(text)}`);
  let total = 0;
  for (const [, n, unit] of trimmed.matchAll(/(\d+)(ms|s|m|h|d)/g)) total += Number(n) * UNIT_MS[unit];
  if (total <= 0) throw new Error(`${what}: must be longer than zero, got ${JSON.stringify(text)}`);
  return total;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m}m` : `${Math.round(m / 60)}h`;
}
