// What the client, the worker and workflow code all agree on. Imported by workflow code:
// no Node built-ins, no I/O.
import type { DryRunResult } from './plan';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { IdentityMode, Signed } from './signed-message';

/** The default task queue; `RUNBOOK_TASK_QUEUE` overrides it (see src/config.ts). */
export const DEFAULT_TASK_QUEUE = 'runbooks';

/**
 * A run's workflow task timeout, whoever starts it (`runbook start`, a schedule's launcher). A
 * run that took a flood of signals (up to Temporal's 10,000) replays them all when its worker
 * changes, seconds on a loaded machine: past Temporal's default 10 s the task timed out, and
 * each retry was as slow. A worker lost mid-task costs at most this before another takes it.
 */
export const RUN_WORKFLOW_TASK_TIMEOUT = '30 seconds';

/** One approver's decision. One JSON object, so the Web UI's signal form can send it. */
export interface ApprovalInput extends Signed {
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

/**
 * Everything a run starts from: what the operator asked for, nothing more. The rules that keep
 * the environment safe (approvers and count, timeouts, the lock, the failure policy) are decided
 * on the worker from the inventory and the runbook's definition, at the run's first step; what
 * is asked here may only tighten them. Secrets never travel here: only references to them.
 */
export interface RunInput<P = Record<string, unknown>> {
  runbook: string;
  env: string;
  params: P;
  initiator: string;
  /** What the operator asked of the policy; absent: the environment's rules as they are. */
  asked?: PolicyRequest;
  /**
   * The shape runs had before the worker decided (recorded histories replay with it). A new run
   * that still sends these has them read as requests: they may tighten, never loosen.
   */
  approval?: ApprovalPolicy;
  mutating?: boolean;
  onFailure?: OnFailure;
  /**
   * The initiator's signature over the start (common/signed-message.ts); checked on the worker
   * where identity is signed.
   */
  proof?: Signed;
  /** Set by a schedule's firing, on the worker: `proof` is then the signature its creator made when creating it. */
  schedule?: string;
  /** Set by a schedule's firing: a second person's signature over the schedule (`runbook schedule approve`). */
  cosign?: Cosign;
}

/** A second person's signature over a schedule as it stands (src/schedules.ts scheduleSubject). */
export interface Cosign extends Signed {
  by: string;
}

/** What an operator may ask of a run's policy. Each may only make it stricter. */
export interface PolicyRequest {
  /** Wait less at approval gates than the environment allows. */
  approvalTimeoutMs?: number;
  /** More approvals than the environment requires (up to its number of approvers). */
  approvalsRequired?: number;
  /** `ask` where the environment rolls back at once; `compensate` where it asks is refused. */
  onFailure?: FailurePolicy;
  /** How long a failure gate waits (at most the approval timeout). */
  failureTimeoutMs?: number;
  /** Only in old-shape inputs: a request to take no lock, which a mutating runbook ignores. */
  mutating?: boolean;
  /** In a freeze window: wait for it to open rather than be refused (`--wait-for-window`). */
  waitForWindow?: boolean;
  /**
   * In a freeze window: go ahead once two of the environment's approvers other than the starter
   * approve, with signatures (`--break-glass <reason>`). The reason is shown in the record.
   */
  breakGlass?: string;
}

/** Approvals a break-glass needs, from the environment's approvers other than the starter. */
export const BREAK_GLASS_APPROVALS = 2;

/**
 * A freeze window holding a mutating run at its start, as the worker found it (src/freeze.ts),
 * and how the run gets past it: by waiting for it to open, or by break-glass.
 */
export interface FreezeHold {
  window: string;
  /** When it opens (UTC, ISO 8601), and as people there read it. */
  opensAt?: string;
  opensAtLocal?: string;
  then: 'wait' | 'break-glass';
  /** The break-glass reason, shown inert. */
  reason?: string;
}

/** What a firing alarm does to a run it stops (src/alarms.ts). */
export const ALARM_ACTIONS = ['undo', 'gate'] as const;
export type AlarmAction = (typeof ALARM_ACTIONS)[number];

/** What the worker tells a run at its admission: that alarms watch it, and how often to read them. */
export interface AlarmWatch {
  intervalMs: number;
  /** The alarms, as decided then (the activity reads the inventory again at each look). */
  names: string[];
  /** The run asked for break-glass: a firing alarm then waits for two signed approvals to go on. */
  breakGlass?: true;
}

/** An alarm that fired, as the run's record names it. */
export interface AlarmFiring {
  alarm: string;
  /** The value that fired it (`0.12 {instance="web1"}`), or why it could not be read. */
  value: string;
  query: string;
  then: AlarmAction;
  /** It fired because it could not be read. */
  unreadable?: true;
}

/** What a firing alarm did to a run, in its record (`progress.alarms`). */
export interface AlarmRecord extends AlarmFiring {
  /** When the run saw it, and the step it stopped before. */
  at: string;
  before: string;
  /** `undone`; at a gate: `went-on` (approved, skipped), `retried` (read again), or `undone`. */
  outcome?: 'undone' | 'went-on' | 'retried';
  /** Break-glass: who approved going on. */
  approvedBy?: string[];
}

/** What a freeze did to a run, in its record. */
export interface FreezeRecord extends FreezeHold {
  /** Break-glass: who approved it, by name. */
  approvedBy?: string[];
  /** A wait: when the run went on. */
  wentOnAt?: string;
}

/** The rules a run follows, as the worker decided them. */
export interface AppliedPolicy {
  approval: ApprovalPolicy;
  /** Mutating runs hold their environment: one at a time. */
  mutating: boolean;
  onFailure: OnFailure;
  /**
   * The runbook's declared gates (rb.gate) this run waits at: on a protected environment every
   * gate its definition declares, and anywhere the one the starter asked for (--gate). Absent on
   * runs from before the worker decided gates.
   */
  gates?: string[];
  /**
   * Of `gates`, those a firing of a co-signed schedule, at a time its own timetable called for,
   * goes without: the two signatures approved it. Empty when a parameter is beyond the bounds.
   */
  cosignedSkips?: string[];
  /** Parameters beyond the environment's bounds, each saying why: approved by a person where protected. */
  beyondBounds?: string[];
}

/** What was asked and what applies, with why they differ: kept in the run's record. */
export interface RunPolicy {
  asked: PolicyRequest;
  applied: AppliedPolicy;
  /** Each request the worker did not follow, and why (a request may only tighten). */
  overruled: string[];
}

/**
 * `compensate`: roll back at once. `ask`: pause at a failure gate until an approver decides to
 * retry the step, roll back or skip it; no decision within `timeoutMs` rolls back.
 */
export interface OnFailure {
  policy: FailurePolicy;
  timeoutMs: number;
}

export const FAILURE_POLICIES = ['compensate', 'ask'] as const;
export type FailurePolicy = (typeof FAILURE_POLICIES)[number];

export const FAILURE_DECISIONS = ['retry', 'rollback', 'skip'] as const;
export type FailureDecision = (typeof FAILURE_DECISIONS)[number];

/** One approver's decision at a failure gate. One JSON object, so the Web UI's signal form can send it. */
export interface FailureDecisionInput extends Signed {
  decision: FailureDecision;
  by: string;
  comment?: string;
}

export interface FailureDecisionRecord extends FailureDecisionInput {
  /** The step whose failure gate was open ('' when none was). */
  step: string;
  at: string;
  via: 'signal' | 'update';
  /** Why the decision was not followed; absent when it was. */
  refused?: string;
  /** In a signed run: the key that proved it ("ED25519 SHA256:...") and which signature it was. */
  key?: string;
  signatureId?: string;
}

/** A failed step waiting for (or past) an operator's decision. */
export interface FailureGateRecord {
  step: string;
  /** Where it failed, when the failure says (the ssh layer's errors do). */
  host?: string;
  error: string;
  /** The last lines the failed command wrote (stderr, or the answer of a failed check). */
  outputTail?: string;
  /** Whether `skip` is allowed: runbooks mark steps that must never be skipped. */
  skippable: boolean;
  /** Drawn when the gate opened, in signed runs: a signed decision names it, so it fits this gate only. */
  nonce?: string;
  openedAt: string;
  deadline: string;
  decisions: FailureDecisionRecord[];
  outcome?: FailureDecision | 'timed_out' | 'cancelled';
  closedAt?: string;
}

/** Whether a run may go ahead: refused while another mutating run holds the environment. */
export type Admission =
  /** `freeze`: a freeze window holds it; it waits for the window to open, or at its break-glass gate. */
  { admitted: true; freeze?: FreezeHold } | { admitted: false; heldBy?: string; reason: string };

export type StepStatus =
  'running' | 'done' | 'failed' | 'skipped' | 'compensating' | 'compensated' | 'compensation_failed';

export interface StepRecord {
  name: string;
  status: StepStatus;
  startedAt: string;
  endedAt?: string;
  error?: string;
  /** For steps that converge a host to a state: whether this run had to change anything. */
  changed?: boolean;
  detail?: string;
  /** Times the step was run again because every attempt's worker was lost (not the step failing). */
  lostWorkers?: number;
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
  /** In a signed run: the key that proved it ("ED25519 SHA256:...") and which signature it was. */
  key?: string;
  signatureId?: string;
}

export interface GateRecord {
  name: string;
  openedAt: string;
  deadline: string;
  required: number;
  approvers: string[];
  /** Drawn when the gate opened, in signed runs: a signed decision names it, so it fits this gate only. */
  nonce?: string;
  outcome?: 'approved' | 'rejected' | 'timed_out' | 'cancelled';
  closedAt?: string;
  /** What became of the webhook telling approvers the gate opened. */
  notified?: string;
}

export type RunState =
  | 'REFUSED'
  | 'RUNNING'
  | 'WAITING_APPROVAL'
  | 'WAITING_DECISION'
  | 'COMPENSATING'
  | 'COMPLETED'
  | 'COMPENSATED'
  | 'FAILED_COMPENSATION'
  /** Failed after a point of no return: the settled change stands (see RunProgress.settledFailure). */
  | 'SETTLED_THEN_FAILED';

/**
 * A run that failed (or was rejected, timed out at a gate, or was cancelled) after its point of
 * no return: nothing before that point was undone. Says what stands, what failed and why, and
 * what is left for a person, with the exact commands.
 */
export interface SettledFailure {
  /** The change that stands: the text the runbook settled with. */
  stands: string;
  /** The step after the settle point that failed; absent when no step failed (a rejection, a cancellation). */
  failedStep?: string;
  error: string;
  /** What a person has to do now, each line with its exact command where there is one. */
  todo: string[];
}

export interface RunProgress {
  runbook: string;
  env: string;
  params: Record<string, unknown>;
  initiator: string;
  /** `signed`: the start and every decision were proven with SSH keys; absent on runs from before. */
  identity?: IdentityMode;
  /** The key that signed the start, in a signed run. */
  initiatorKey?: string;
  /**
   * A run a signed schedule fired: the schedule, who co-signed it (when the worker verified it),
   * and whether its own timetable called for this firing (`spec`) or a person did (`manual`).
   */
  scheduled?: {
    schedule: string;
    firing: 'spec' | 'manual';
    cosignedBy?: string;
    cosignKey?: string;
    /** Why a co-signature the schedule carries was not taken: its firings wait at their gates. */
    cosignRefused?: string;
  };
  /** The rules the worker applied, and what was asked; absent on runs from before it decided. */
  policy?: RunPolicy;
  state: RunState;
  reason?: string;
  steps: StepRecord[];
  gate?: GateRecord;
  gates: GateRecord[];
  approvals: ApprovalRecord[];
  compensations: CompensationRecord[];
  /** Undos that failed and must be done by hand. */
  leftToUndo: string[];
  /**
   * Steps whose undo the run would run if it stopped now: registered, not settled, not yet run.
   * A run ended from outside (terminated) never runs them, so a person must. Absent on runs from before.
   */
  undosRegistered?: string[];
  /** Points of no return: steps kept whatever happened after. */
  settled: { why: string; steps: string[]; at: string }[];
  /** Set when the run ended SETTLED_THEN_FAILED. */
  settledFailure?: SettledFailure;
  /** A freeze window that held the run at its start, and how it got past it. */
  freeze?: FreezeRecord;
  /** A freeze window that began while the run was going: it waited at a gate for two approvals. */
  freezeBegan?: FreezeRecord;
  /** Alarms that fired while the run went (src/alarms.ts): each names the value that fired it. */
  alarms?: AlarmRecord[];
  /** The failure gate open now (policy `ask`): the failed step, where and why, and how to decide. */
  failureGate?: FailureGateRecord;
  /** Every failure gate of the run, open or closed, with its decisions; absent on runs from before failure gates. */
  failureGates?: FailureGateRecord[];
  /** Failure decisions sent while no failure gate was open: refused, kept for the audit. */
  strayDecisions?: FailureDecisionRecord[];
  /** Fleet runbooks (rolling-deploy, run-command): what became of each host, batch by batch. */
  hosts?: HostRecord[];
  /** Refused decisions past the cap a run keeps (workflows/kernel/bounds.ts): counted, not kept. */
  refusedNotKept?: number;
}

/**
 * One host in a fleet runbook. `changed`: the release runs there; `failed`: it failed (see
 * `rolledBack`, and `drained`: left out of the load balancer); `skipped`: never started because
 * the error budget was spent; `ok`/`failed` for a command, with its exit code and output.
 */
export interface HostRecord {
  host: string;
  batch: number;
  outcome: 'changed' | 'unchanged' | 'failed' | 'skipped' | 'ok' | 'rolled-back';
  error?: string;
  rolledBack?: boolean;
  drained?: boolean;
  exitCode?: number;
  durationMs?: number;
  outputTail?: string;
}

export interface RunResult {
  state: RunState;
  progress: RunProgress;
  /** A dry run's plan (workflows/dry-run.ts): the run's procedure walked in plan mode. */
  dryRun?: DryRunResult;
}

export const approvalSignal = defineSignal<[ApprovalInput]>('approval');
export const approveUpdate = defineUpdate<ApprovalRecord, [ApprovalInput]>('approve');
export const progressQuery = defineQuery<RunProgress>('progress');
export const failureDecisionSignal = defineSignal<[FailureDecisionInput]>('failure-decision');
export const decideFailureUpdate = defineUpdate<FailureDecisionRecord, [FailureDecisionInput]>('decide-failure');
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
