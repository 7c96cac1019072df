// The rules a run follows, decided from the inventory and the runbook's definition. The worker
// decides them at a run's first step (activities/policy.ts); the CLI decides them the same way
// before it starts anything, to refuse a bad request early and to show a dry run. What the
// operator asked may only tighten them: a shorter wait, more approvals, `ask` on failure.
import type { Environment } from './inventory';
import { formatDuration, parseDuration } from '../common/duration';
import type { RunbookSpec } from './runbooks';
import { checkParamValues } from '../common/params';
import { freezeAt, nextFreezeStart } from './freeze';
import { alarmsFor } from './alarms';
import { inertText } from '../common/inert';
import {
  BREAK_GLASS_APPROVALS,
  FAILURE_POLICIES,
  type AlarmWatch,
  type AppliedPolicy,
  type FailurePolicy,
  type FreezeHold,
  type PolicyRequest,
  type RunInput,
  type RunPolicy,
} from '../common/shared';

/** The longest a gate may wait: it holds the environment the whole time. */
export const MAX_GATE_WAIT_MS = 30 * 86_400_000;
const MAX_PARAMS = 50;

/** A request or parameter that cannot be followed at all (as opposed to one that is overruled). */
export class PolicyError extends Error {}

/** A mutating run asked to start inside a freeze window, neither waiting for it nor breaking glass. */
export class FrozenError extends PolicyError {}

/** How long a break-glass reason may be, and at least: a reason, not a word. */
export const BREAK_GLASS_REASON = { min: 10, max: 500 } as const;

/** Who may start a run: the name checks of src/start.ts, shared with the worker. */
export const INITIATOR = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/;

/** What an input asks of the policy, whichever shape it came in (old inputs carried the policy itself). */
export function askedOf(input: RunInput): PolicyRequest {
  if (input.asked !== undefined) {
    if (typeof input.asked !== 'object' || input.asked === null || Array.isArray(input.asked))
      throw new PolicyError('invalid asked: expected an object');
    return input.asked;
  }
  const asked: PolicyRequest = {};
  const legacy = input as { approval?: unknown; mutating?: unknown; onFailure?: unknown };
  if (typeof legacy.approval === 'object' && legacy.approval !== null) {
    const a = legacy.approval as { timeoutMs?: number; required?: number };
    if (a.timeoutMs !== undefined) asked.approvalTimeoutMs = a.timeoutMs;
    if (a.required !== undefined) asked.approvalsRequired = a.required;
  }
  if (legacy.mutating !== undefined) asked.mutating = legacy.mutating as boolean;
  if (legacy.onFailure !== undefined) {
    const f = legacy.onFailure as { policy?: unknown; timeoutMs?: unknown } | null;
    const valid =
      typeof f === 'object' &&
      f !== null &&
      (FAILURE_POLICIES as readonly unknown[]).includes(f.policy) &&
      isWait(f.timeoutMs);
    if (!valid) {
      throw new PolicyError(
        `invalid onFailure ${JSON.stringify(legacy.onFailure).slice(0, 200)}: ` +
          `expected {"policy": "compensate" | "ask", "timeoutMs": <positive whole number>}`,
      );
    }
    asked.onFailure = f.policy as FailurePolicy;
    asked.failureTimeoutMs = f.timeoutMs as number;
  }
  return asked;
}

/**
 * The policy of a run of `spec` on `env`: the environment's rules, tightened where `asked` says
 * so. A request that would loosen a rule is overruled (and said so); one that cannot be
 * followed at all (malformed, beyond the bounds, more approvals than approvers) throws.
 */
export function decidePolicy(
  spec: RunbookSpec,
  env: Environment,
  asked: PolicyRequest,
  params: Record<string, unknown> = {},
): RunPolicy {
  const overruled: string[] = [];
  const inventoryWait = parseDuration(env.approvals.timeout, `${env.environment} approvals.timeout`, MAX_GATE_WAIT_MS);

  let timeoutMs = inventoryWait;
  if (asked.approvalTimeoutMs !== undefined) {
    const wanted = checkWait(asked.approvalTimeoutMs, 'approval timeout');
    if (wanted > inventoryWait)
      overruled.push(
        `asked to wait ${formatDuration(wanted)} at gates; ${env.environment} allows ${formatDuration(inventoryWait)}`,
      );
    timeoutMs = Math.min(wanted, inventoryWait);
  }

  let required = env.approvals.required;
  if (asked.approvalsRequired !== undefined) {
    const wanted = asked.approvalsRequired;
    if (!Number.isInteger(wanted) || wanted < 0)
      throw new PolicyError(`invalid approvals required ${JSON.stringify(wanted)}: a whole number`);
    if (wanted > env.approvals.approvers.length) {
      throw new PolicyError(
        `asked for ${wanted} approvals but ${env.environment} lists ${env.approvals.approvers.length} approvers`,
      );
    }
    if (wanted < required) overruled.push(`asked for ${wanted} approval(s); ${env.environment} requires ${required}`);
    required = Math.max(wanted, required);
  }

  let policy: FailurePolicy = env.onFailure;
  if (asked.onFailure !== undefined) {
    if (!(FAILURE_POLICIES as readonly unknown[]).includes(asked.onFailure)) {
      throw new PolicyError(`invalid onFailure ${JSON.stringify(asked.onFailure)}: compensate or ask`);
    }
    if (asked.onFailure === 'ask') policy = 'ask';
    else if (env.onFailure === 'ask')
      overruled.push(`asked to roll back at once on failure; ${env.environment} asks an approver (onFailure: ask)`);
  }

  let failureWait = timeoutMs;
  if (asked.failureTimeoutMs !== undefined) {
    const wanted = checkWait(asked.failureTimeoutMs, 'failure timeout');
    if (wanted > timeoutMs)
      overruled.push(
        `asked to wait ${formatDuration(wanted)} at failure gates; ` +
          `at most the approval timeout, ${formatDuration(timeoutMs)}`,
      );
    failureWait = Math.min(wanted, timeoutMs);
  }

  if (asked.mutating === false && spec.mutating)
    overruled.push(`asked to take no lock; ${spec.name} changes ${env.environment}, so it holds it`);

  const applied: AppliedPolicy = {
    approval: { required, approvers: [...env.approvals.approvers], timeoutMs },
    mutating: spec.mutating,
    onFailure: { policy, timeoutMs: failureWait },
    ...decideGates(spec, env, params),
  };
  return { asked, applied, overruled };
}

/**
 * Four eyes, from the runbook's definition and the inventory, never from the request: on a
 * protected environment a run waits at every gate its runbook declares (`protectedGates`); the
 * starter's `--gate` can only add its runbook's `askedGate`. A firing of a co-signed schedule at
 * a time its timetable called for goes without the protected gates, unless a parameter is beyond
 * the environment's bounds. Elsewhere a parameter beyond the bounds is only recorded: an
 * unprotected environment is one whose inventory lets a person act alone, and names typed there
 * would prove nothing.
 */
export function decideGates(
  spec: RunbookSpec,
  env: Environment,
  params: Record<string, unknown>,
): Required<Pick<AppliedPolicy, 'gates' | 'cosignedSkips' | 'beyondBounds'>> {
  const beyondBounds = spec.beyondBounds?.(env, params) ?? [];
  const asked = spec.askedGate && params.gate === true ? [spec.askedGate] : [];
  const guarded = env.protected ? spec.protectedGates : [];
  return {
    gates: [...new Set([...guarded, ...asked])],
    cosignedSkips: beyondBounds.length ? [] : guarded.filter((g) => !asked.includes(g)),
    beyondBounds,
  };
}

function isWait(ms: unknown): ms is number {
  return typeof ms === 'number' && Number.isInteger(ms) && ms > 0;
}

function checkWait(ms: unknown, what: string): number {
  if (!isWait(ms))
    throw new PolicyError(`invalid ${what} ${JSON.stringify(ms)}: a positive whole number of milliseconds`);
  if (ms > MAX_GATE_WAIT_MS)
    throw new PolicyError(
      `${what} ${formatDuration(ms)} is longer than the limit, ${formatDuration(MAX_GATE_WAIT_MS)}`,
    );
  return ms;
}

/**
 * The parameters checked against the runbook's declaration (common/params.ts): only declared
 * names, each of its type and within its bounds. The same checks whether the CLI or the worker
 * runs them; a runbook's own check against the environment follows.
 */
export function checkParams(spec: RunbookSpec, env: Environment, params: unknown): Record<string, unknown> {
  let checked: Record<string, unknown>;
  try {
    checked = checkParamValues(spec.name, spec.params, params, MAX_PARAMS);
  } catch (err) {
    throw new PolicyError((err as Error).message);
  }
  const wrong = spec.check?.(env, checked);
  if (wrong) throw new PolicyError(wrong);
  return checked;
}

/**
 * Whether a freeze window holds a run of `spec` by `initiator` on `env` at `nowMs` (src/freeze.ts),
 * and how it may get past: only a mutating runbook the environment does not exempt is held. Not
 * asked to wait or to break glass, it is refused (FrozenError) with when the window opens.
 * Break-glass needs a reason and an environment that takes signed decisions with two approvers
 * other than the starter: the run then waits for their two signed approvals.
 */
export function decideFreeze(
  spec: RunbookSpec,
  env: Environment,
  asked: PolicyRequest,
  initiator: string,
  nowMs: number,
): FreezeHold | undefined {
  const { waitForWindow, breakGlass } = asked;
  if (waitForWindow !== undefined && typeof waitForWindow !== 'boolean')
    throw new PolicyError(`invalid waitForWindow ${JSON.stringify(waitForWindow).slice(0, 100)}: true or false`);
  if (breakGlass !== undefined) {
    if (typeof breakGlass !== 'string') throw new PolicyError('invalid breakGlass: the reason, as text');
    const { min, max } = BREAK_GLASS_REASON;
    const length = inertText(breakGlass).trim().length;
    if (length < min || breakGlass.length > max)
      throw new PolicyError(`a break-glass reason is ${min} to ${max} characters, saying why it cannot wait`);
    if (waitForWindow) throw new PolicyError('asked both to wait for the window and to break glass: one or the other');
  }
  if (!spec.mutating) return undefined;
  const status = freezeAt(env.freezes, spec.name, nowMs);
  if (!status.frozen) return undefined;
  const at = { window: status.window, ...(status.opensAt ? { opensAt: status.opensAt } : {}) };
  const hold = status.opensAtLocal ? { ...at, opensAtLocal: status.opensAtLocal } : at;
  const opens = status.opensAt
    ? `it opens ${status.opensAtLocal} (${status.opensAt})`
    : 'it does not open within 400 days';
  const held = `${env.environment} is frozen for ${spec.name} (window ${status.window}): ${opens}`;
  if (breakGlass !== undefined) {
    const others = env.approvals.approvers.filter((a) => a !== initiator);
    if (env.identity !== 'signed')
      throw new PolicyError(`${held}; break-glass takes signed approvals, and ${env.environment} takes typed names`);
    if (others.length < BREAK_GLASS_APPROVALS)
      throw new PolicyError(
        `${held}; break-glass needs ${BREAK_GLASS_APPROVALS} approvers other than ${initiator}, ` +
          `and ${env.environment} lists ${others.join(', ') || 'none'}`,
      );
    return { ...hold, then: 'break-glass', reason: inertText(breakGlass).trim() };
  }
  if (waitForWindow) {
    if (!status.opensAt) throw new FrozenError(`${held}: there is nothing to wait for`);
    return { ...hold, then: 'wait' };
  }
  throw new FrozenError(
    `${held}; start it then, wait for it with --wait-for-window, or break glass with ` +
      `--break-glass "<reason>" and ${BREAK_GLASS_APPROVALS} signed approvals from its approvers`,
  );
}

/**
 * The next freeze window a run of `spec` started at `nowMs` would meet while it runs: the first
 * to begin after the one holding it now has opened (a run past a freeze is not held by it
 * again), within the longest a run can wait at its gates. None for a read-only runbook.
 */
export function nextFreeze(
  spec: RunbookSpec,
  env: Environment,
  nowMs: number,
  held?: FreezeHold,
): { window: string; startsAt: string } | undefined {
  if (!spec.mutating) return undefined;
  const after = held?.opensAt ? Math.max(nowMs, Date.parse(held.opensAt)) : nowMs;
  return nextFreezeStart(env.freezes, spec.name, after, MAX_GATE_WAIT_MS + 86_400_000);
}

/**
 * The alarms that watch a run of `spec` on `env` (src/alarms.ts), from the inventory alone: none
 * where the environment declares none for it, or names it remediation. A run asking break-glass
 * (`--break-glass`, the freeze's) is let through a firing alarm by two signed approvals from
 * approvers other than the starter: refused here where the environment cannot give them.
 */
export function decideAlarms(
  spec: RunbookSpec,
  env: Environment,
  asked: PolicyRequest,
  initiator: string,
): AlarmWatch | undefined {
  const watching = alarmsFor(env.alarms, spec.name, spec.mutating);
  if (!watching.length) return undefined;
  const intervalMs = parseDuration(env.alarms.interval, 'alarms.interval');
  const watch: AlarmWatch = { intervalMs, names: watching.map(([name]) => name) };
  if (asked.breakGlass === undefined) return watch;
  const others = env.approvals.approvers.filter((a) => a !== initiator);
  const why = `break-glass past ${env.environment}'s alarms`;
  if (env.identity !== 'signed')
    throw new PolicyError(`${why} takes signed approvals; ${env.environment} takes typed names`);
  if (others.length < BREAK_GLASS_APPROVALS)
    throw new PolicyError(
      `${why} needs ${BREAK_GLASS_APPROVALS} approvers other than ${initiator}; ` +
        `${env.environment} lists ${others.join(', ') || 'none'}`,
    );
  return { ...watch, breakGlass: true };
}
