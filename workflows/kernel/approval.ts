// Approval gates: a run pauses until enough approvers say yes, anyone says no, or time runs out.
// Decisions come as a signal (what the Web UI sends) or an update (what the CLI sends, so a
// refusal reaches the caller before anything is recorded).
import { ApplicationFailure, condition, patched, setHandler, uuid4, workflowInfo } from '@temporalio/workflow';
import type * as activities from '../../activities';
import { stepActivities } from './activities';
import {
  approvalSignal,
  approveUpdate,
  type ApprovalInput,
  type ApprovalPolicy,
  type ApprovalRecord,
  type GateRecord,
  type RunProgress,
} from '../../common/shared';
import { countGateOpened, recordGateWait } from './metrics';
import { now, showProgress } from './progress';
import { FailureType } from '../../common/failure-types';
import { keyRefusal, proveDecision, unsignedRefusal, type Proof, type RunIdentity } from './identity';

/** Ends the run's forward path: it is compensated, not retried. */
export class GateClosed extends Error {
  constructor(
    message: string,
    readonly outcome: 'rejected' | 'timed_out',
  ) {
    super(message);
    this.name = 'GateClosed';
  }
}

const { notifyApprovers } = stepActivities<typeof activities>({ startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 3 } });

const MAX_NAME = 100;
const MAX_COMMENT = 2000;

export class Approvals {
  constructor(
    private readonly progress: RunProgress,
    private readonly policy: ApprovalPolicy,
    private readonly identity: RunIdentity,
  ) {
    setHandler(approvalSignal, async (input) => {
      const refused = this.refusal(input);
      if (refused || this.identity.mode !== 'signed') {
        this.record(input, 'signal', refused);
        return;
      }
      await this.decideSigned(input, 'signal');
    });
    setHandler(
      approveUpdate,
      async (input) => {
        if (this.identity.mode !== 'signed') return this.record(input, 'update', undefined);
        const record = await this.decideSigned(input, 'update');
        // Recorded either way: a badly signed decision is part of the audit, as a refused signal is.
        if (record.refused) throw ApplicationFailure.create({ type: FailureType.DecisionRefused, message: record.refused, nonRetryable: true });
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

  /** Records a signed decision once the worker has checked its signature over the open gate. */
  private async decideSigned(input: ApprovalInput, via: ApprovalRecord['via']): Promise<ApprovalRecord> {
    const gate = this.progress.gate!;
    const proof = await proveDecision({ ...input, action: input.decision, gate: gate.name, nonce: gate.nonce ?? '', by: input.approver });
    // From here on synchronous: no other decision is handled between these checks and the record.
    return this.record(input, via, undefined, this.stillValid(proof, gate, input));
  }

  private stillValid(proof: Proof, gate: GateRecord, input: ApprovalInput): Proof {
    if ('refused' in proof) return proof;
    if (this.progress.gate !== gate) return { refused: `${gate.name} closed while the signature was checked` };
    const decided = [...this.progress.approvals, ...(this.progress.failureGates ?? []).flatMap((g) => g.decisions)];
    const refused = this.refusal(input) ?? keyRefusal(proof, this.identity, decided, this.counted(gate.name));
    return refused ? { refused } : proof;
  }

  /** Waits at gate `name`; returns when approved, throws GateClosed when rejected or expired. */
  async gate(name: string): Promise<void> {
    const { required, approvers, timeoutMs } = this.policy;
    const gate: GateRecord = {
      name,
      openedAt: now(),
      deadline: new Date(Date.now() + timeoutMs).toISOString(),
      required,
      approvers,
      // Drawn from the run's seeded randomness: the same on replay, new at every gate.
      ...(this.identity.mode === 'signed' ? { nonce: uuid4() } : {}),
    };
    this.progress.gate = gate;
    this.progress.gates.push(gate);
    countGateOpened(this.progress, name);
    showProgress(this.progress);
    // Not awaited: a slow or broken webhook must not hold the gate; its outcome is recorded.
    // Patched: runs recorded before gates sent notices replay without one.
    if (patched('notify-approvers')) this.notify(gate);
    try {
      const decided = await condition(() => this.rejection(name) !== undefined || this.approvedBy(name).length >= required, timeoutMs);
      const rejection = this.rejection(name);
      if (rejection) {
        gate.outcome = 'rejected';
        const why = rejection.comment ? `: ${rejection.comment}` : '';
        throw new GateClosed(`${name}: rejected by ${rejection.approver}${why}`, 'rejected');
      }
      if (!decided) {
        gate.outcome = 'timed_out';
        throw new GateClosed(`${name}: no decision within ${Math.round(timeoutMs / 1000)}s`, 'timed_out');
      }
      gate.outcome = 'approved';
    } catch (err) {
      gate.outcome ??= 'cancelled';
      throw err;
    } finally {
      gate.closedAt = now();
      recordGateWait(this.progress, name, gate.outcome ?? 'cancelled', gate.openedAt, gate.closedAt);
      this.progress.gate = undefined;
    }
  }

  private notify(gate: GateRecord): void {
    void notifyApprovers({
      env: this.progress.env,
      runId: workflowInfo().workflowId,
      runbook: this.progress.runbook,
      initiator: this.progress.initiator,
      gate: gate.name,
      required: gate.required,
      approvers: gate.approvers,
      deadline: gate.deadline,
    }).then(
      (sent) => (gate.notified = sent ? 'sent' : 'no webhook configured'),
      (err) => (gate.notified = `failed: ${(err as Error).message}`),
    );
  }

  /** Why a decision cannot be counted, or undefined when it can. */
  private refusal(input: unknown): string | undefined {
    const gate = this.progress.gate;
    if (!gate) return 'no approval gate is open';
    if (typeof input !== 'object' || input === null) return 'malformed decision: expected {"approver": "...", "decision": "approve" | "reject", "comment": "..."}';
    const { approver, decision, comment } = input as Record<string, unknown>;
    if (typeof approver !== 'string' || approver.trim() === '' || approver.length > MAX_NAME) return 'malformed decision: "approver" must be a name';
    if (decision !== 'approve' && decision !== 'reject') return 'malformed decision: "decision" must be "approve" or "reject"';
    if (comment !== undefined && (typeof comment !== 'string' || comment.length > MAX_COMMENT)) return 'malformed decision: "comment" must be text';
    if (approver === this.progress.initiator) return `${approver} started this run and cannot also decide on it (four eyes)`;
    if (!this.policy.approvers.includes(approver)) return `${approver} is not an approver for ${this.progress.env}`;
    if (this.counted(gate.name).some((a) => a.approver === approver)) return `${approver} has already decided at ${gate.name}`;
    if (this.identity.mode === 'signed') return unsignedRefusal(decision, input as ApprovalInput);
    return undefined;
  }

  private record(input: ApprovalInput, via: ApprovalRecord['via'], refused: string | undefined, proof?: Proof): ApprovalRecord {
    const gate = this.progress.gate?.name ?? '';
    const safe = typeof input === 'object' && input !== null ? input : ({} as ApprovalInput);
    const record: ApprovalRecord = {
      gate,
      approver: typeof safe.approver === 'string' ? safe.approver.slice(0, MAX_NAME) : String(safe.approver),
      decision: safe.decision,
      comment: typeof safe.comment === 'string' ? safe.comment.slice(0, MAX_COMMENT) : undefined,
      at: now(),
      via,
      ...(refused ? { refused } : {}),
      ...(proof && 'refused' in proof ? { refused: proof.refused } : {}),
      ...(proof && 'key' in proof ? { key: proof.key, signatureId: proof.signatureId } : {}),
    };
    this.progress.approvals.push(record);
    showProgress(this.progress);
    return record;
  }

  private counted(gate: string): ApprovalRecord[] {
    return this.progress.approvals.filter((a) => a.gate === gate && !a.refused);
  }

  private approvedBy(gate: string): string[] {
    return this.counted(gate).filter((a) => a.decision === 'approve').map((a) => a.approver);
  }

  private rejection(gate: string): ApprovalRecord | undefined {
    return this.counted(gate).find((a) => a.decision === 'reject');
  }
}
