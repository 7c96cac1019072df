// Failure gates: with the `ask` policy, a step that has exhausted its retries does not roll the
// run back at once. The run pauses, showing the step, host, error and output tail, until an
// approver decides: retry the step (after fixing its cause), roll back, or skip it. Decisions
// follow the approval rules (approvers only, four eyes) and come as a signal (the Web UI) or an
// update (the CLI, so a refusal reaches the caller); refused signals are recorded.
import { ApplicationFailure, condition, setHandler, uuid4 } from '@temporalio/workflow';
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
import { now, setState, showProgress } from './progress';
import { FailureType } from '../../common/failure-types';
import { keyRefusal, proveDecision, unsignedRefusal, type Proof, type RunIdentity } from './identity';

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

const MAX_NAME = 100;
const MAX_COMMENT = 2000;
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
      message: `invalid onFailure ${JSON.stringify(onFailure)}: expected {"policy": "compensate" | "ask", "timeoutMs": <positive whole number>}`,
    });
  }
  return onFailure;
}

export class FailureGates {
  constructor(
    private readonly progress: RunProgress,
    private readonly input: RunInput,
    private readonly onFailure: OnFailure,
    private readonly identity: RunIdentity,
  ) {
    // Registered whatever the policy, so a decision sent to a `compensate` run is refused and recorded.
    setHandler(failureDecisionSignal, async (decision) => {
      const refused = this.refusal(decision);
      if (refused || this.identity.mode !== 'signed') this.record(decision, 'signal', refused);
      else await this.decideSigned(decision, 'signal');
    });
    setHandler(
      decideFailureUpdate,
      async (decision) => {
        if (this.identity.mode !== 'signed') return this.record(decision, 'update', undefined);
        const record = await this.decideSigned(decision, 'update');
        // Recorded either way: a badly signed decision is part of the audit, as a refused signal is.
        if (record.refused) throw ApplicationFailure.create({ type: FailureType.DecisionRefused, message: record.refused, nonRetryable: true });
        return record;
      },
      {
        validator: (decision) => {
          const refused = this.refusal(decision);
          if (refused) throw new Error(refused);
        },
      },
    );
  }

  /** Records a signed decision once the worker has checked its signature over the open failure gate. */
  private async decideSigned(input: FailureDecisionInput, via: FailureDecisionRecord['via']): Promise<FailureDecisionRecord> {
    const gate = this.progress.failureGate!;
    const proof = await proveDecision({ ...input, action: input.decision, gate: gate.step, nonce: gate.nonce ?? '' });
    // From here on synchronous: no other decision is handled between these checks and the record.
    return this.record(input, via, undefined, this.stillValid(proof, gate, input));
  }

  private stillValid(proof: Proof, gate: FailureGateRecord, input: FailureDecisionInput): Proof {
    if ('refused' in proof) return proof;
    if (this.progress.failureGate !== gate) return { refused: `the failure gate of ${gate.step} closed while the signature was checked` };
    const decided = [...this.progress.approvals, ...(this.progress.failureGates ?? []).flatMap((g) => g.decisions)];
    const refused = this.refusal(input) ?? keyRefusal(proof, this.identity, decided, []);
    return refused ? { refused } : proof;
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
    try {
      const decided = await condition(() => followed(gate) !== undefined, timeoutMs);
      const decision = followed(gate);
      if (!decided || !decision) {
        gate.outcome = 'timed_out';
        throw new FailureGateClosed(`${step}: no decision at its failure gate within ${Math.round(timeoutMs / 1000)}s`, 'timed_out', err);
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
      this.progress.failureGate = undefined;
      // A rollback or a timeout goes straight on to compensation, which sets its own state.
      if (gate.outcome === 'retry' || gate.outcome === 'skip') setState(this.progress, 'RUNNING');
    }
  }

  /** Why a decision cannot be followed, or undefined when it can. */
  private refusal(input: unknown): string | undefined {
    const gate = this.progress.failureGate;
    if (!gate) return this.asks ? 'no failure gate is open' : 'this run rolls back on failure (policy compensate): it has no failure gate';
    if (typeof input !== 'object' || input === null) return 'malformed decision: expected {"decision": "retry" | "rollback" | "skip", "by": "...", "comment": "..."}';
    const { decision, by, comment } = input as Record<string, unknown>;
    if (typeof by !== 'string' || by.trim() === '' || by.length > MAX_NAME) return 'malformed decision: "by" must be a name';
    if (!(FAILURE_DECISIONS as readonly unknown[]).includes(decision)) return 'malformed decision: "decision" must be "retry", "rollback" or "skip"';
    if (comment !== undefined && (typeof comment !== 'string' || comment.length > MAX_COMMENT)) return 'malformed decision: "comment" must be text';
    if (by === this.input.initiator) return `${by} started this run and cannot also decide on it (four eyes)`;
    if (!this.input.approval.approvers.includes(by)) return `${by} is not an approver for ${this.input.env}`;
    const taken = followed(gate);
    if (taken) return `the failure gate of ${gate.step} is already decided: ${taken.decision} by ${taken.by}`;
    if (decision === 'skip' && !gate.skippable) return `${gate.step} may not be skipped: retry it or roll back`;
    if (decision === 'skip' && (typeof comment !== 'string' || comment.trim() === '')) return 'skip needs a comment saying why';
    if (this.identity.mode === 'signed') return unsignedRefusal(decision as FailureDecision, input as FailureDecisionInput);
    return undefined;
  }

  private record(input: FailureDecisionInput, via: FailureDecisionRecord['via'], refused: string | undefined, proof?: Proof): FailureDecisionRecord {
    const gate = this.progress.failureGate;
    const safe = typeof input === 'object' && input !== null ? input : ({} as FailureDecisionInput);
    const record: FailureDecisionRecord = {
      step: gate?.step ?? '',
      decision: safe.decision,
      by: typeof safe.by === 'string' ? safe.by.slice(0, MAX_NAME) : String(safe.by),
      comment: typeof safe.comment === 'string' ? safe.comment.slice(0, MAX_COMMENT) : undefined,
      at: now(),
      via,
      ...(refused ? { refused } : {}),
      ...(proof && 'refused' in proof ? { refused: proof.refused } : {}),
      ...(proof && 'key' in proof ? { key: proof.key, signatureId: proof.signatureId } : {}),
    };
    if (gate) gate.decisions.push(record);
    else (this.progress.strayDecisions ??= []).push(record);
    showProgress(this.progress);
    return record;
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
  return { error: messages.join(': ') || String(err), ...(host ? { host } : {}), ...(outputTail ? { outputTail } : {}) };
}
