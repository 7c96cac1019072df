// Failure gates: with the `ask` policy, a step that has exhausted its retries does not roll the
// run back at once. The run pauses, showing the step, host, error and output tail, until an
// approver decides: retry the step (after fixing its cause), roll back, or skip it. Decisions
// follow the approval rules (approvers only, four eyes) and come as a signal (the Web UI) or an
// update (the CLI, so a refusal reaches the caller); refused signals are recorded.
import { ApplicationFailure, condition, log, patched, uuid4 } from '@temporalio/workflow';
import {
  decideFailureUpdate,
  FAILURE_DECISIONS,
  FAILURE_POLICIES,
  failureDecisionSignal,
  type FailureDecision,
  type FailureDecisionInput,
  type FailureDecisionRecord,
  type FailureGateRecord,
  type OnFailure,
  type RunInput,
  type RunProgress,
} from '../../common/shared';
import { boundedText, MAX_ERROR } from './bounds';
import { now, setState } from './progress';
import { FailureType } from '../../common/failure-types';
import { Decisions } from './decisions';
import { sendNotice } from './notice';
import type { RunIdentity } from './identity';

/** Ends the run's forward path after a failed step: it is compensated, not retried. */
export class FailureGateClosed extends Error {
  constructor(
    message: string,
    readonly outcome: 'rollback' | 'timed_out',
    failure: unknown,
  ) {
    // The step's own failure stays in the chain: the run's reason reads "decision: failure".
    super(message, { cause: failure });
    this.name = 'FailureGateClosed';
  }
}

const MAX_TAIL = 1000;

/** The run's failure policy, checked before anything runs: a malformed one fails the run at once. */
export function failurePolicy(input: RunInput): OnFailure {
  const onFailure = input.onFailure;
  if (onFailure === undefined) return { policy: 'compensate', timeoutMs: 0 };
  const valid =
    typeof onFailure === 'object' &&
    onFailure !== null &&
    (FAILURE_POLICIES as readonly unknown[]).includes(onFailure.policy) &&
    Number.isInteger(onFailure.timeoutMs) &&
    onFailure.timeoutMs > 0;
  if (!valid) {
    throw ApplicationFailure.create({
      type: FailureType.BadInput,
      nonRetryable: true,
      message:
        `invalid onFailure ${JSON.stringify(onFailure)}: ` +
        `expected {"policy": "compensate" | "ask", "timeoutMs": <positive whole number>}`,
    });
  }
  return onFailure;
}

export class FailureGates {
  constructor(
    private readonly progress: RunProgress,
    input: RunInput,
    private readonly onFailure: OnFailure,
    private readonly identity: RunIdentity,
  ) {
    // Registered whatever the policy, so a decision sent to a `compensate` run is refused and recorded.
    new Decisions<FailureDecisionInput, FailureDecisionRecord>(
      {
        signal: failureDecisionSignal,
        update: decideFailureUpdate,
        who: 'by',
        shape: '{"decision": "retry" | "rollback" | "skip", "by": "...", "comment": "..."}',
        openGate: () => {
          const gate = this.progress.failureGate;
          if (!gate)
            return this.asks
              ? 'no failure gate is open'
              : 'this run rolls back on failure (policy compensate): it has no failure gate';
          const label = `the failure gate of ${gate.step}`;
          return { name: gate.step, nonce: gate.nonce, record: gate, label, deadline: gate.deadline };
        },
        badDecision: (d) =>
          (FAILURE_DECISIONS as readonly unknown[]).includes(d)
            ? undefined
            : 'malformed decision: "decision" must be "retry", "rollback" or "skip"',
        gateRefusal: (decision) => this.gateRefusal(decision),
        // A failure gate follows one decision: once one is taken, any other is refused before the key is looked at.
        counted: () => [],
        store: (base, by) => {
          const gate = this.progress.failureGate;
          const { decision, ...rest } = base;
          const record = { step: gate?.step ?? '', decision: decision as FailureDecision, by, ...rest };
          if (gate) gate.decisions.push(record);
          else (this.progress.strayDecisions ??= []).push(record);
          return record;
        },
      },
      { progress, approvers: input.approval?.approvers ?? [], identity },
    );
  }

  /** Whether failed steps wait for a decision instead of rolling back at once. */
  get asks(): boolean {
    return this.onFailure.policy === 'ask';
  }

  /**
   * Waits at the failure gate of `step`, which failed with `err`. Returns `retry` or `skip`;
   * throws FailureGateClosed on `rollback` or when no decision comes in time.
   */
  async decide(step: string, err: unknown, skippable: boolean): Promise<'retry' | 'skip'> {
    const { timeoutMs } = this.onFailure;
    const gate: FailureGateRecord = {
      step,
      ...whatFailed(err),
      skippable,
      // Drawn from the run's seeded randomness: the same on replay, new at every failure gate.
      ...(this.identity.mode === 'signed' ? { nonce: uuid4() } : {}),
      openedAt: now(),
      deadline: new Date(Date.now() + timeoutMs).toISOString(),
      decisions: [],
    };
    this.progress.failureGate = gate;
    (this.progress.failureGates ??= []).push(gate);
    setState(this.progress, 'WAITING_DECISION');
    const at = { runbook: this.progress.runbook, env: this.progress.env, step, host: gate.host ?? 'none' };
    log.warn('failure gate opened', { ...at, error: gate.error, deadline: gate.deadline });
    if (patched('notice-failure-gate'))
      void sendNotice({
        event: 'failure_gate_opened',
        runbook: this.progress.runbook,
        env: this.progress.env,
        initiator: this.progress.initiator,
        identity: this.identity.mode,
        step,
        ...(gate.host ? { host: gate.host } : {}),
        error: gate.error,
        skippable,
        deadline: gate.deadline,
      });
    try {
      const decided = await condition(() => followed(gate) !== undefined, timeoutMs);
      const decision = followed(gate);
      if (!decided || !decision) {
        gate.outcome = 'timed_out';
        throw new FailureGateClosed(
          `${step}: no decision at its failure gate within ${Math.round(timeoutMs / 1000)}s`,
          'timed_out',
          err,
        );
      }
      gate.outcome = decision.decision;
      if (decision.decision === 'rollback') {
        const why = decision.comment ? `: ${decision.comment}` : '';
        throw new FailureGateClosed(`${step}: rollback decided by ${decision.by}${why}`, 'rollback', err);
      }
      return decision.decision;
    } catch (e) {
      gate.outcome ??= 'cancelled';
      throw e;
    } finally {
      gate.closedAt = now();
      log.info('failure gate closed', { ...at, outcome: gate.outcome });
      this.progress.failureGate = undefined;
      // A rollback or a timeout goes straight on to compensation, which sets its own state.
      if (gate.outcome === 'retry' || gate.outcome === 'skip') setState(this.progress, 'RUNNING');
    }
  }

  /** This gate's own rules: one decision is followed, skip only where allowed and with a reason. */
  private gateRefusal({ decision, comment }: FailureDecisionInput): string | undefined {
    const gate = this.progress.failureGate!;
    const taken = followed(gate);
    if (taken) return `the failure gate of ${gate.step} is already decided: ${taken.decision} by ${taken.by}`;
    if (decision === 'skip' && !gate.skippable) return `${gate.step} may not be skipped: retry it or roll back`;
    if (decision === 'skip' && (typeof comment !== 'string' || comment.trim() === ''))
      return 'skip needs a comment saying why';
    return undefined;
  }
}

/** The decision the gate follows: the first one not refused. */
function followed(gate: FailureGateRecord): FailureDecisionRecord | undefined {
  return gate.decisions.find((d) => !d.refused);
}

/**
 * What an operator needs to act on a failure: the innermost messages, and the host and output
 * tail the activity put in its failure's details (the ssh layer's CommandFailed, a failed check).
 */
function whatFailed(err: unknown): { error: string; host?: string; outputTail?: string } {
  const messages: string[] = [];
  let host: string | undefined;
  let outputTail: string | undefined;
  let e = err as { message?: string; cause?: unknown; details?: unknown[] } | undefined;
  while (e && typeof e === 'object') {
    if (e.message && !messages.includes(e.message)) messages.push(e.message);
    const details = Array.isArray(e.details) ? (e.details[0] as Record<string, unknown> | undefined) : undefined;
    if (details && typeof details === 'object') {
      if (typeof details.host === 'string') host = details.host;
      const tail = details.stderrTail ?? details.outputTail;
      if (typeof tail === 'string' && tail.trim()) outputTail = tail.slice(-MAX_TAIL);
    }
    e = e.cause as typeof e;
  }
  return {
    error: boundedText(messages.join(': ') || String(err), MAX_ERROR),
    ...(host ? { host } : {}),
    ...(outputTail ? { outputTail } : {}),
  };
}
