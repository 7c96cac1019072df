// What the client, the worker and workflow code all agree on. Imported by workflow code:
// no Node built-ins, no I/O.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** The default task queue; `RUNBOOK_TASK_QUEUE` overrides it (see src/config.ts). */
export const DEFAULT_TASK_QUEUE = 'runbooks';

/** One approver's decision. One JSON object, so the Web UI's signal form can send it. */
export interface ApprovalInput {
  approver: string;
  decision: 'approve' | 'reject';
  comment?: string;
}

/** The environment's approval policy, snapshotted into the run when it starts. */
export interface ApprovalPolicy {
  required: number;
  approvers: string[];
  timeoutMs: number;
}

/** Everything a run starts from. Secrets never travel here: only references to them. */
export interface RunInput<P = Record<string, unknown>> {
  runbook: string;
  env: string;
  params: P;
  initiator: string;
  approval: ApprovalPolicy;
  /** Mutating runs hold their environment: one at a time. */
  mutating: boolean;
}

/** Whether a run may go ahead: refused while another mutating run holds the environment. */
export type Admission = { admitted: true } | { admitted: false; heldBy: string; reason: string };

export type StepStatus = 'running' | 'done' | 'failed' | 'compensating' | 'compensated' | 'compensation_failed';

export interface StepRecord {
  name: string;
  status: StepStatus;
  startedAt: string;
  endedAt?: string;
  error?: string;
  /** For steps that converge a host to a state: whether this run had to change anything. */
  changed?: boolean;
  detail?: string;
}

export interface CompensationRecord {
  step: string;
  status: 'running' | 'done' | 'failed';
  startedAt: string;
  endedAt?: string;
  error?: string;
}

export interface ApprovalRecord extends ApprovalInput {
  gate: string;
  at: string;
  via: 'signal' | 'update';
  /** Why a decision was not counted; absent when it was. */
  refused?: string;
}

export interface GateRecord {
  name: string;
  openedAt: string;
  deadline: string;
  required: number;
  approvers: string[];
  outcome?: 'approved' | 'rejected' | 'timed_out' | 'cancelled';
  closedAt?: string;
  /** What became of the webhook telling approvers the gate opened. */
  notified?: string;
}

export type RunState =
  | 'REFUSED'
  | 'RUNNING'
  | 'WAITING_APPROVAL'
  | 'COMPENSATING'
  | 'COMPLETED'
  | 'COMPENSATED'
  | 'FAILED_COMPENSATION';

export interface RunProgress {
  runbook: string;
  env: string;
  params: Record<string, unknown>;
  initiator: string;
  state: RunState;
  reason?: string;
  steps: StepRecord[];
  gate?: GateRecord;
  gates: GateRecord[];
  approvals: ApprovalRecord[];
  compensations: CompensationRecord[];
  /** Undos that failed and must be done by hand. */
  leftToUndo: string[];
  /** Points of no return: steps kept whatever happened after. */
  settled: { why: string; steps: string[]; at: string }[];
}

export interface RunResult {
  state: RunState;
  progress: RunProgress;
}

export const approvalSignal = defineSignal<[ApprovalInput]>('approval');
export const approveUpdate = defineUpdate<ApprovalRecord, [ApprovalInput]>('approve');
export const progressQuery = defineQuery<RunProgress>('progress');
/** Answers once the run holds its environment, or was refused it (sent with the start). */
export const admissionUpdate = defineUpdate<Admission, []>('admission');

export function environmentLockId(env: string): string {
  return `environment-lock-${env}`;
}

export const RunbookNameKey = defineSearchAttributeKey('RunbookName', SearchAttributeType.KEYWORD);
export const RunbookEnvKey = defineSearchAttributeKey('RunbookEnv', SearchAttributeType.KEYWORD);
export const RunbookStateKey = defineSearchAttributeKey('RunbookState', SearchAttributeType.KEYWORD);
/** Registered on the server before any run (the dev server gets them as flags). */
export const SEARCH_ATTRIBUTES = [RunbookNameKey, RunbookEnvKey, RunbookStateKey];

/** Parameter names that look like they hold a secret: shown masked, whatever was passed. */
const SECRET_NAME = /pass|secret|token|key|credential/i;

export function maskSecrets(params: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, SECRET_NAME.test(k) ? '***' : v]));
}
