// Limits on what signals and updates put in a run's record. A signal is whatever a client sent
// (the Web UI's form, a script): every field is cut to a size, and refused decisions are kept
// up to a cap and only counted past it, so no sender can grow the record past Temporal's
// payload limit (which would fail the run's last workflow task forever, lock held).
import type { RunProgress } from '../../common/shared';

export const MAX_NAME = 100;
export const MAX_COMMENT = 2000;
/** Refused decisions kept in a run's record (approvals and failure decisions together). */
export const MAX_REFUSED_KEPT = 100;
/**
 * Signed decisions one person could have checked at one gate, in runs recorded before batched
 * checks (./signature-checks.ts); those runs replay with the cap.
 */
export const MAX_CHECKS_PER_GATE = 10;
/** A run's input, as JSON: what an operator asks fits in far less; more is refused unread. */
export const MAX_INPUT_CHARS = 64_000;
/** A step's error or a gate's reason as recorded: enough to act on, never the whole output. */
export const MAX_ERROR = 4000;

/** `value` as text (what `String()` makes of a non-string), cut to `max`. */
export function boundedText(value: unknown, max: number): string {
  const text = typeof value === 'string' ? value : String(value);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** One of `allowed`, or undefined: a decision field is never recorded as sent. */
export function oneOf<T extends string>(value: unknown, allowed: readonly T[]): T | undefined {
  return (allowed as readonly unknown[]).includes(value) ? (value as T) : undefined;
}

/**
 * Whether one more refused decision may be kept; counts it when not. Accepted decisions are
 * bounded by the number of approvers and gates, so only refusals need a cap.
 */
export function keepRefused(progress: RunProgress): boolean {
  const kept =
    progress.approvals.filter((a) => a.refused).length +
    (progress.strayDecisions ?? []).length +
    (progress.failureGates ?? []).reduce((n, g) => n + g.decisions.filter((d) => d.refused).length, 0);
  if (kept < MAX_REFUSED_KEPT) return true;
  progress.refusedNotKept = (progress.refusedNotKept ?? 0) + 1;
  return false;
}
