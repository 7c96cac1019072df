// Approval gates: a run pauses until enough approvers say yes, anyone says no, or time runs out.
// Decisions are taken as at failure gates (./decisions.ts): bounded, four eyes, signed where the
// run is, as a signal (the Web UI) or an update (the CLI, so a refusal reaches the caller).
import { condition, log, patched, uuid4, workflowInfo } from '@temporalio/workflow';
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
import { Decisions } from './decisions';
import { sendNotice } from './notice';
import type { RunIdentity } from './identity';

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

const { notifyApprovers } = stepActivities<typeof activities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
});

export class Approvals {
  constructor(
    private readonly progress: RunProgress,
    private readonly policy: ApprovalPolicy,
    private readonly identity: RunIdentity,
  ) {
    // Registers the signal and the update approvers decide with.
    new Decisions<ApprovalInput, ApprovalRecord>(
      {
        signal: approvalSignal,
        update: approveUpdate,
        who: 'approver',
        shape: '{"approver": "...", "decision": "approve" | "reject", "comment": "..."}',
        openGate: () => {
          const gate = this.progress.gate;
          return gate
            ? { name: gate.name, nonce: gate.nonce, record: gate, label: gate.name, deadline: gate.deadline }
            : 'no approval gate is open';
        },
        badDecision: (d) =>
          d === 'approve' || d === 'reject'
            ? undefined
            : 'malformed decision: "decision" must be "approve" or "reject"',
        gateRefusal: (input, gate) =>
          this.counted(gate.name).some((a) => a.approver === input.approver)
            ? `${input.approver} has already decided at ${gate.name}`
            : undefined,
        counted: (gate) => this.counted(gate.name),
        store: (base, approver) => {
          const { decision, ...rest } = base;
          const record: ApprovalRecord = {
            gate: this.progress.gate?.name ?? '',
            approver,
            decision: decision as ApprovalRecord['decision'],
            ...rest,
          };
          this.progress.approvals.push(record);
          return record;
        },
      },
      { progress, approvers: policy.approvers, identity },
    );
  }

  /**
   * Waits at gate `name`; returns when approved, throws GateClosed when rejected or expired.
   * `required` is the run's rule unless the gate needs more (break-glass: two).
   */
  async gate(name: string, required = this.policy.required): Promise<void> {
    const { approvers, timeoutMs } = this.policy;
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
    const at = { runbook: this.progress.runbook, env: this.progress.env, gate: name };
    log.info('approval gate opened', { ...at, required, deadline: gate.deadline });
    // Not awaited: a slow or broken webhook must not hold the gate; its outcome is recorded.
    // Patched: runs recorded before gates sent notices replay without one.
    if (patched('notify-approvers')) this.notify(gate);
    // The environment's notify targets, from the notice's own workflow (runs from before, none).
    if (patched('notice-approval-gate'))
      void sendNotice({
        event: 'approval_gate_opened',
        runbook: this.progress.runbook,
        env: this.progress.env,
        initiator: this.progress.initiator,
        identity: this.identity.mode,
        gate: name,
        required,
        approvers,
        deadline: gate.deadline,
      });
    try {
      const decided = await condition(
        () => this.rejection(name) !== undefined || this.approvedBy(name).length >= required,
        timeoutMs,
      );
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
      log.info('approval gate closed', { ...at, outcome: gate.outcome ?? 'cancelled' });
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
      // An activity's input is not part of what replay compares: no patch needed.
      identity: this.identity.mode,
    }).then(
      (sent) => (gate.notified = sent ? 'sent' : 'no webhook configured'),
      (err) => (gate.notified = `failed: ${(err as Error).message}`),
    );
  }

  private counted(gate: string): ApprovalRecord[] {
    return this.progress.approvals.filter((a) => a.gate === gate && !a.refused);
  }

  private approvedBy(gate: string): string[] {
    return this.counted(gate)
      .filter((a) => a.decision === 'approve')
      .map((a) => a.approver);
  }

  private rejection(gate: string): ApprovalRecord | undefined {
    return this.counted(gate).find((a) => a.decision === 'reject');
  }
}
