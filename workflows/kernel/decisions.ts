// How a run takes a person's decision, at an approval gate or at a failure gate: one mechanism,
// so both follow the same rules. A decision is bounded (a name, a comment of limited length),
// comes from a listed approver who did not start the run (four eyes), is signed where the run
// takes signed decisions (checked on the worker, then against the run's own state), and
// arrives as a signal (the Web UI: recorded even when refused, since the sender cannot be told)
// or an update (the CLI: refused before anything is recorded, so the caller hears why). Each
// gate adds only its own rules (what a decision may say, whether it is already decided).
import { ApplicationFailure, patched, setHandler } from '@temporalio/workflow';
import type { SignalDefinition, UpdateDefinition } from '@temporalio/common';
import type { RunProgress } from '../../common/shared';
import type { Signed, SignedAction } from '../../common/signed-message';
import { FailureType } from '../../common/failure-types';
import { keyRefusal, proveDecision, unsignedRefusal, type Proof, type RunIdentity } from './identity';
import { boundedText, keepRefused, MAX_CHECKS_PER_GATE, MAX_COMMENT, MAX_NAME } from './bounds';
import { now, showProgress } from './progress';
import { SignatureChecks } from './signature-checks';

export { MAX_COMMENT, MAX_NAME } from './bounds';
/** The longest decision word kept ("rollback"); anything longer was never a decision. */
const MAX_DECISION = 20;
/** The patch under which signed decisions are checked in batches, however many are sent (./signature-checks.ts). */
const BATCHED_CHECKS = 'batched-signature-checks';

/** What every decision carries, whichever gate it is for. */
export interface DecisionInput extends Signed {
  decision: string;
  comment?: string;
}

/** What every decision's record carries: who, when, how, and the proof or the refusal. */
export interface DecisionRecordBase {
  decision: string;
  comment?: string;
  at: string;
  via: 'signal' | 'update';
  refused?: string;
  key?: string;
  signatureId?: string;
}

/** The gate a decision is for, while it is open: its name and the nonce a signature must cover. */
export interface OpenGate {
  name: string;
  nonce?: string;
  /** The gate's record: a decision signed for one gate is refused if another has opened since. */
  record: object;
  /** How a refusal names it ("switch traffic", "the failure gate of start web-green"). */
  label: string;
  /** When it closes on its own, ISO 8601: signatures waiting for their check are checked before. */
  deadline: string;
}

/** What one kind of gate adds to the shared mechanism. */
export interface DecisionKind<I extends DecisionInput, R extends DecisionRecordBase> {
  signal: SignalDefinition<[I]>;
  update: UpdateDefinition<R, [I]>;
  /** The field that names who decides: "approver" or "by". */
  who: 'approver' | 'by';
  /** A well-formed decision, for the refusal of a malformed one. */
  shape: string;
  /** The gate open now, or why a decision cannot be taken (none is open). */
  openGate(): OpenGate | string;
  /** Why the decision itself is not one this gate takes ("approve" at a failure gate...). */
  badDecision(decision: unknown): string | undefined;
  /** The gate's own rules, after the shared ones: already decided, may not be skipped... */
  gateRefusal(input: I, gate: OpenGate): string | undefined;
  /** Earlier decisions counted at this gate: a key may decide once per gate. */
  counted(gate: OpenGate): { key?: string }[];
  /** Stores the record with the gate's own fields; returns it. */
  store(base: DecisionRecordBase, who: string, input: I): R;
}

/** The run's side of every decision: who may decide and how it proves who it is. */
export interface DecisionRun {
  progress: RunProgress;
  approvers: string[];
  identity: RunIdentity;
}

export class Decisions<I extends DecisionInput, R extends DecisionRecordBase> {
  /** Signatures checked at the open gate, by who sent them (runs recorded before batched checks). */
  private checks: { gate?: object; byName: Map<string, number> } = { byName: new Map() };
  /** Signed decisions waiting at the open gate for their batch to be checked. */
  private queue?: { gate: object; checks: SignatureChecks };

  constructor(
    private readonly kind: DecisionKind<I, R>,
    private readonly run: DecisionRun,
  ) {
    // Synchronous unless a signature is to be checked: a flood of refused signals must not pile
    // up async handlers (each one an async context in the workflow's sandbox).
    setHandler(kind.signal, (input): Promise<void> | void => {
      const signed = run.identity.mode === 'signed';
      // Patched: runs recorded before batched checks replay with a cap of checks per person.
      if (signed && !this.refusal(input) && patched(BATCHED_CHECKS)) {
        // Not awaited: a flood waiting for its batch must not pile up signal handlers.
        void this.decideSigned(input, 'signal', true);
        return;
      }
      const refused = this.refusal(input) ?? (signed ? this.checkRefusal(input) : undefined);
      if (refused || !signed) {
        this.record(input, 'signal', refused);
        return;
      }
      return this.decideSigned(input, 'signal', false).then(() => undefined);
    });
    setHandler(
      kind.update,
      async (input) => {
        if (run.identity.mode !== 'signed') return this.record(input, 'update', undefined);
        const batched = patched(BATCHED_CHECKS);
        const unchecked = batched ? undefined : this.checkRefusal(input);
        const record = unchecked
          ? this.record(input, 'update', unchecked)
          : await this.decideSigned(input, 'update', batched);
        // Recorded either way: a badly signed decision is part of the audit, as a refused signal is.
        if (record.refused) {
          const type = FailureType.DecisionRefused;
          throw ApplicationFailure.create({ type, message: record.refused, nonRetryable: true });
        }
        return record;
      },
      {
        validator: (input) => {
          const refused = this.refusal(input);
          if (refused) throw new Error(refused);
        },
      },
    );
  }

  /** Why a decision cannot be taken, or undefined when it can: the shared rules, then the gate's. */
  refusal(input: unknown): string | undefined {
    const gate = this.kind.openGate();
    if (typeof gate === 'string') return gate;
    if (typeof input !== 'object' || input === null) return `malformed decision: expected ${this.kind.shape}`;
    const fields = input as Record<string, unknown>;
    const who = fields[this.kind.who];
    if (typeof who !== 'string' || who.trim() === '' || who.length > MAX_NAME) {
      return `malformed decision: "${this.kind.who}" must be a name`;
    }
    const bad = this.kind.badDecision(fields.decision);
    if (bad) return bad;
    const { comment } = fields;
    if (comment !== undefined && (typeof comment !== 'string' || comment.length > MAX_COMMENT)) {
      return 'malformed decision: "comment" must be text';
    }
    const { progress, approvers } = this.run;
    if (who === progress.initiator) return `${who} started this run and cannot also decide on it (four eyes)`;
    if (!approvers.includes(who)) return `${who} is not an approver for ${progress.env}`;
    const own = this.kind.gateRefusal(input as I, gate);
    if (own) return own;
    if (this.run.identity.mode === 'signed') return unsignedRefusal(fields.decision as SignedAction, input as I);
    return undefined;
  }

  /**
   * Counts one more signature to check at the open gate; refuses it once its sender has had
   * MAX_CHECKS_PER_GATE checked there. Runs recorded before batched checks only: junk sent in a
   * person's name used up that person's checks, and their own decision was then refused.
   */
  private checkRefusal(input: I): string | undefined {
    const gate = this.kind.openGate() as OpenGate;
    if (this.checks.gate !== gate.record) this.checks = { gate: gate.record, byName: new Map() };
    const who = (input as unknown as Record<string, string>)[this.kind.who];
    const checked = this.checks.byName.get(who) ?? 0;
    // Patched: runs recorded before the cap replay with every check they made.
    if (checked >= MAX_CHECKS_PER_GATE && patched('bounded-signature-checks')) {
      return (
        `${who} has had ${MAX_CHECKS_PER_GATE} signed decisions checked at ${gate.label}: ` + 'no more are checked here'
      );
    }
    this.checks.byName.set(who, checked + 1);
    return undefined;
  }

  /** Records a signed decision once the worker has checked its signature over the open gate. */
  private async decideSigned(input: I, via: DecisionRecordBase['via'], batched: boolean): Promise<R> {
    const gate = this.kind.openGate() as OpenGate;
    const by = (input as unknown as Record<string, string>)[this.kind.who];
    const action = input.decision as SignedAction;
    const decision = { ...input, action, gate: gate.name, nonce: gate.nonce ?? '', by };
    const proof = batched ? await this.checksAt(gate).check(decision) : await proveDecision(decision);
    // From here on synchronous: no other decision is handled between these checks and the record.
    return this.record(input, via, undefined, this.stillValid(proof, gate, input));
  }

  /** The checks of the open gate's signed decisions: a new queue for each gate. */
  private checksAt(gate: OpenGate): SignatureChecks {
    if (this.queue?.gate !== gate.record) {
      const isOpen = () => {
        const now = this.kind.openGate();
        return typeof now !== 'string' && now.record === gate.record;
      };
      this.queue = { gate: gate.record, checks: new SignatureChecks(isOpen, Date.parse(gate.deadline), gate.label) };
    }
    return this.queue.checks;
  }

  private stillValid(proof: Proof, gate: OpenGate, input: I): Proof {
    if ('refused' in proof) return proof;
    const now = this.kind.openGate();
    if (typeof now === 'string' || now.record !== gate.record) {
      return { refused: `${gate.label} closed while the signature was checked` };
    }
    const { progress, identity } = this.run;
    const decided = [...progress.approvals, ...(progress.failureGates ?? []).flatMap((g) => g.decisions)];
    const refused = this.refusal(input) ?? keyRefusal(proof, identity, decided, this.kind.counted(gate));
    return refused ? { refused } : proof;
  }

  private record(input: I, via: DecisionRecordBase['via'], refused: string | undefined, proof?: Proof): R {
    const safe = (typeof input === 'object' && input !== null ? input : {}) as Partial<I> & Record<string, unknown>;
    const who = safe[this.kind.who];
    // Every field cut to its size: a signal is whatever a client sent (workflows/kernel/bounds.ts).
    const base: DecisionRecordBase = {
      decision: boundedText(safe.decision, MAX_DECISION),
      comment: safe.comment === undefined ? undefined : boundedText(safe.comment, MAX_COMMENT),
      at: now(),
      via,
      ...(refused ? { refused } : {}),
      ...(proof && 'refused' in proof ? { refused: proof.refused } : {}),
      ...(proof && 'key' in proof ? { key: proof.key, signatureId: proof.signatureId } : {}),
    };
    const name = boundedText(who, MAX_NAME);
    // Refused decisions past the cap are counted, not kept, nor shown.
    if (base.refused && !keepRefused(this.run.progress)) return { ...base, [this.kind.who]: name } as unknown as R;
    const record = this.kind.store(base, name, safe as I);
    showProgress(this.run.progress);
    return record;
  }
}
