// The spine every runbook shares: progress and audit, approvals, failure gates, and
// compensation of what the run changed when it fails, is rejected, times out at a gate or is
// cancelled. A failure after a point of no return (rb.settle) undoes only what came after it
// and ends SETTLED_THEN_FAILED, never COMPENSATED: the settled change still stands.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  allHandlersFinished,
  isCancellation,
  patched,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from '../../activities';
import {
  admissionUpdate,
  BREAK_GLASS_APPROVALS,
  maskSecrets,
  progressQuery,
  type Admission,
  type AlarmRecord,
  type AlarmWatch,
  type AppliedPolicy,
  type FreezeHold,
  type FreezeRecord,
  type HostRecord,
  type RunInput,
  type RunProgress,
  type RunResult,
  type SettledFailure,
  type StepRecord,
} from '../../common/shared';
import { stepActivities } from './activities';
import { AlarmWatcher } from './alarms';
import { MAX_INPUT_CHARS } from './bounds';
import { Approvals, GateClosed } from './approval';
import { FailureGates, failurePolicy } from './failure-gate';
import { proveInitiator, type RunIdentity } from './identity';
import { FailureType } from '../../common/failure-types';
import { holdEnvironment } from './lock';
import { countRunEnded, countRunStarted } from './metrics';
import { newProgress, now, setState, showProgress, tagRun } from './progress';
import { logRunEnded, logRunStarted, noteHosts } from './run-log';
import { sendNotice } from './notice';
import type { NoticeEvent } from '../../common/notice';

/** The notice each way a run ends sends (a refused run changed nothing: it tells nobody). */
const END_EVENTS: Partial<Record<RunProgress['state'], NoticeEvent>> = {
  COMPLETED: 'run_completed',
  COMPENSATED: 'run_compensated',
  FAILED_COMPENSATION: 'run_failed_compensation',
  SETTLED_THEN_FAILED: 'run_settled_then_failed',
};
import { describe, Saga, type SkippableStep, type StepAction } from './saga';
import { planMode } from './plan';
import { dryRunOf } from './dry-run';

export interface Runbook {
  /**
   * Runs one step; its undo joins the compensation list before it starts. When it fails and
   * the run's policy is `ask`, the run waits at a failure gate for retry, rollback or skip.
   */
  step<T>(name: string, action: StepAction<T>): Promise<T>;
  /** A step the run may go on without, on an approver's word at its failure gate. */
  step(name: string, action: SkippableStep): Promise<void>;
  /** Pauses until the environment's approvers release the run, wherever the procedure calls it. */
  approval(gate: string): Promise<void>;
  /**
   * A gate its definition declares (`protectedGates`, `askedGate` in src/runbooks.ts): pauses for
   * another person's approval where the worker's rules for this run say so (a protected
   * environment, the starter's --gate), and goes straight on where they do not. Neither the
   * input nor the parameters decide it.
   */
  gate(name: string): Promise<void>;
  /**
   * A point of no return: the steps so far are kept whatever happens later. `why` says what
   * stands; `ifLaterFails` says what a person must do if a later step fails (exact commands),
   * given that step's name (undefined for a rejection or cancellation between steps).
   */
  settle(why: string, ifLaterFails?: (failedStep: string | undefined) => string[]): void;
  /** Records what became of hosts of a fleet (one record per host, the latest wins). */
  hosts(records: HostRecord[]): void;
}

/** The last point of no return the run passed, and what to tell a person if a later step fails. */
interface SettlePoint {
  why: string;
  stepIndex: number;
  ifLaterFails?: (failedStep: string | undefined) => string[];
}

const { decideRunRules } = stepActivities<typeof activities>({ startToCloseTimeout: '1 minute' });

export async function runbook(input: RunInput, procedure: (rb: Runbook) => Promise<void>): Promise<RunResult> {
  if (planMode()) return { state: 'COMPLETED', progress: newProgress(input), dryRun: await dryRunOf(input, procedure) };
  // Runs recorded before the worker decided the rules replay with the rules their input carried.
  const workerDecides = patched('worker-decides-policy');
  const legacyOnFailure = workerDecides ? undefined : failurePolicy(input);
  const progress = newProgress(workerDecides ? { ...input, params: {} } : input);
  // Counted once the worker has checked the runbook and environment (or refused the run): they are metric tags.
  let checked = !workerDecides;
  if (checked) countRunStarted(progress, true);
  setHandler(progressQuery, () => progress);
  // Typed until the worker says otherwise; no gate opens before it has.
  const identity: RunIdentity = { mode: 'typed' };
  let admission: Admission | undefined;
  const answerAdmission = () =>
    setHandler(admissionUpdate, async () => {
      await condition(() => admission !== undefined);
      return admission!;
    });

  let policy: AppliedPolicy;
  let freeze: FreezeHold | undefined;
  let nextFreeze: { window: string; startsAt: string } | undefined;
  let alarmWatch: AlarmWatch | undefined;
  if (workerDecides) {
    answerAdmission();
    const size = JSON.stringify(input ?? null).length;
    if (size > MAX_INPUT_CHARS)
      return await refuse(
        FailureType.BadInput,
        `the run's input is ${size} characters of JSON; at most ${MAX_INPUT_CHARS}`,
      );
    let rules;
    try {
      rules = await decideRunRules({ workflowType: workflowInfo().workflowType, input });
    } catch (err) {
      if (isCancellation(err)) throw err;
      return await refuse(frozen(err) ? FailureType.Frozen : FailureType.BadInput, innermost(err));
    }
    freeze = rules.freeze;
    nextFreeze = rules.nextFreeze;
    alarmWatch = rules.alarms;
    checked = true;
    countRunStarted(progress, true);
    progress.params = maskSecrets(rules.params);
    progress.policy = rules.policy;
    tagRun({ ...input, runbook: rules.runbook });
    policy = rules.policy.applied;
  } else {
    tagRun(input);
    // After the tag, as these runs were recorded: the update's acceptance follows the upsert.
    answerAdmission();
    policy = { approval: input.approval!, mutating: input.mutating === true, onFailure: legacyOnFailure! };
  }
  // Who may decide at a failure gate: the approvers the rules say, not the input's.
  const decided = { ...input, approval: policy.approval, onFailure: policy.onFailure };
  const failureGates = new FailureGates(progress, decided, policy.onFailure, identity);
  const saga = new Saga(progress, failureGates);
  const approvals = new Approvals(progress, policy.approval, identity);

  const proven = await proveInitiator(input, progress);
  if ('refused' in proven) return await refuse(FailureType.StartRefused, proven.refused);
  Object.assign(identity, proven);
  logRunStarted(progress);

  // Only runs a freeze window held at their start (none recorded before freezes existed) take this step.
  if (freeze && patched('freeze-windows')) {
    const refusal = await passFreeze(freeze);
    if (refusal) return await refuse(FailureType.Frozen, refusal);
  }

  let hold = policy.mutating ? await holdEnvironment(input.env) : undefined;
  if (hold && 'heldBy' in hold) {
    admission = { admitted: false, heldBy: hold.heldBy, reason: `${input.env} is held by ${hold.heldBy}` };
    return await refuse(FailureType.EnvironmentLocked, admission.reason);
  }
  admission = { admitted: true };
  // Only runs alarms watch (none recorded before alarms existed) keep this timer.
  const alarms = alarmWatch && patched('alarms-stop-runs') ? new AlarmWatcher(input.env, alarmWatch) : undefined;

  /** Ends a run that may not go ahead, before it changed anything. */
  async function refuse(type: string, reason: string): Promise<never> {
    admission ??= { admitted: false, reason };
    progress.reason = `refused: ${reason}`;
    setState(progress, 'REFUSED');
    if (!checked) countRunStarted(progress, false);
    countRunEnded(progress, checked);
    logRunEnded(progress);
    await condition(allHandlersFinished);
    throw ApplicationFailure.create({
      type,
      message: progress.reason,
      nonRetryable: true,
      details: [{ state: 'REFUSED', progress }],
    });
  }

  /**
   * Gets past the freeze window that held the run at its start, before it takes the lock: by
   * break-glass (two signed approvals from the approvers other than the starter: the gate's
   * four eyes) or by waiting until the window opens, then asking the worker again, since the
   * inventory may have moved or added a window meanwhile. Returns why not, if it may not.
   */
  async function passFreeze(first: FreezeHold): Promise<string | undefined> {
    const record: FreezeRecord = { ...first };
    progress.freeze = record;
    // The caller learns now that the run is held, not when the window opens or two people approve.
    admission = { admitted: true, freeze: first };
    if (first.then === 'break-glass') {
      const gate = `break glass: ${first.window}`;
      setState(progress, 'WAITING_APPROVAL');
      try {
        await approvals.gate(gate, BREAK_GLASS_APPROVALS);
      } catch (err) {
        if (err instanceof GateClosed) return `break-glass at freeze window ${first.window}: ${err.message}`;
        throw err;
      } finally {
        setState(progress, 'RUNNING');
      }
      record.approvedBy = progress.approvals
        .filter((a) => a.gate === gate && a.decision === 'approve' && !a.refused)
        .map((a) => a.approver);
      return undefined;
    }
    for (let held: FreezeHold | undefined = first; held;) {
      Object.assign(record, held);
      showProgress(progress);
      await sleep(Math.max(1000, Date.parse(held.opensAt ?? '') - Date.now() || 0));
      try {
        const again = await decideRunRules({ workflowType: workflowInfo().workflowType, input });
        held = again.freeze;
        nextFreeze = again.nextFreeze;
      } catch (err) {
        if (isCancellation(err)) throw err;
        return innermost(err);
      }
    }
    record.wentOnAt = new Date().toISOString();
    showProgress(progress);
    return undefined;
  }

  /** A run whose lock ended under it acts no more: another run may be changing the environment. */
  const lockLost = () => hold !== undefined && 'lost' in hold && hold.lost();
  const stopIfLockLost = (before: string) => {
    if (lockLost() && patched('lock-lost-stops'))
      throw ApplicationFailure.create({
        type: FailureType.LockLost,
        message: `the lock of ${input.env} ended while this run held it (terminated?); stopped before ${before}`,
        nonRetryable: true,
      });
  };

  /**
   * A freeze window that began while the run was going: the step under way has finished; the
   * run waits here for two signed approvals from others than the starter to go on (a rejection
   * or the gate's timeout undoes the run). Undos are never held: they do not pass through here.
   * The run's own clock is compared with the start the worker gave at admission: no query per step.
   */
  const freezeBegan = () =>
    nextFreeze !== undefined && Date.now() >= Date.parse(nextFreeze.startsAt) && patched('freeze-holds-running-runs');
  const holdIfFrozen = async () => {
    const next = nextFreeze!;
    nextFreeze = undefined;
    const record: FreezeRecord = { window: next.window, then: 'break-glass', reason: `began at ${next.startsAt}` };
    progress.freezeBegan = record;
    const gate = `freeze window ${next.window} began: go on`;
    setState(progress, 'WAITING_APPROVAL');
    alarms?.stop();
    try {
      await approvals.gate(gate, BREAK_GLASS_APPROVALS);
    } finally {
      setState(progress, 'RUNNING');
    }
    await alarms?.start();
    record.approvedBy = progress.approvals
      .filter((a) => a.gate === gate && a.decision === 'approve' && !a.refused)
      .map((a) => a.approver);
  };

  /**
   * An alarm fired while the run went (workflows/kernel/alarms.ts): the step under way has
   * finished and the next, `before`, has not begun. The run is undone; or, where the alarm says
   * `gate`, a person decides at a failure gate (retry: read again; skip: go on past this alarm;
   * rollback); or, where the run asked break-glass, it waits for two signed approvals from others
   * than the starter to go on past it. The record names the alarm and the value that fired it.
   */
  let alarmStop: Promise<void> | undefined;
  async function stopForAlarms(before: string): Promise<void> {
    try {
      await passAlarms(before);
    } finally {
      alarmStop = undefined;
    }
  }
  async function passAlarms(before: string): Promise<void> {
    const watcher = alarms!;
    for (let fired = watcher.firing; fired; fired = watcher.firing) {
      watcher.firing = undefined;
      const record: AlarmRecord = { ...fired, at: now(), before };
      (progress.alarms ??= []).push(record);
      showProgress(progress);
      const what = `alarm ${fired.alarm} fired (${fired.value})`;
      const stopped = (why?: string) => {
        record.outcome = 'undone';
        return ApplicationFailure.create({
          type: FailureType.AlarmFired,
          message: `${what}: stopped before ${before}${why ? `; ${why}` : ''}`,
          nonRetryable: true,
        });
      };
      if (watcher.watch.breakGlass) {
        const gate = `alarm ${fired.alarm} fired: go on`;
        setState(progress, 'WAITING_APPROVAL');
        try {
          await approvals.gate(gate, BREAK_GLASS_APPROVALS);
        } catch (err) {
          if (err instanceof GateClosed) throw stopped(`break-glass: ${err.message}`);
          throw err;
        } finally {
          setState(progress, 'RUNNING');
        }
        record.approvedBy = progress.approvals
          .filter((a) => a.gate === gate && a.decision === 'approve' && !a.refused)
          .map((a) => a.approver);
        record.outcome = 'went-on';
        watcher.pass(fired.alarm);
      } else if (fired.then === 'gate') {
        let decision;
        try {
          decision = await failureGates.decide(`alarm ${fired.alarm}`, stopped(), true);
        } catch (err) {
          record.outcome = 'undone';
          throw err;
        }
        record.outcome = decision === 'skip' ? 'went-on' : 'retried';
        if (decision === 'skip') watcher.pass(fired.alarm);
      } else throw stopped();
      showProgress(progress);
      // Read again before the step: a retried alarm may still fire, another may have begun to.
      await watcher.start();
    }
  }

  let settlePoint: SettlePoint | undefined;
  const rb: Runbook = {
    step: (async (name: string, action: StepAction<unknown> | SkippableStep) => {
      // Awaited only when due: an extra await on every step would reorder concurrent steps' commands.
      if (freezeBegan()) await holdIfFrozen();
      // Steps started together wait for the same stop: none slips past it.
      if (alarms?.firing || alarmStop) await (alarmStop ??= stopForAlarms(name));
      stopIfLockLost(name);
      return saga.step(name, action);
    }) as Runbook['step'],
    settle: (why, ifLaterFails) => {
      const kept = saga.settle();
      progress.settled.push({ why, steps: kept, at: new Date().toISOString() });
      settlePoint = { why, stepIndex: progress.steps.length, ifLaterFails };
    },
    hosts: (records) => {
      // A batch's hosts act in a child workflow: its step's log line names them from here.
      noteHosts({ hosts: records.map((r) => r.host) });
      const all = (progress.hosts ??= []);
      for (const r of records) {
        const i = all.findIndex((h) => h.host === r.host);
        if (i >= 0) all[i] = r;
        else all.push(r);
      }
      showProgress(progress);
    },
    approval: async (gate) => {
      setState(progress, 'WAITING_APPROVAL');
      alarms?.stop();
      try {
        await approvals.gate(gate);
      } finally {
        setState(progress, 'RUNNING');
      }
      // Read once more before going on: the watch paused while the gate waited.
      await alarms?.start();
      stopIfLockLost(`what follows gate ${gate}`);
    },
    gate: async (name) => {
      // Runs recorded before the worker decided gates, and runs whose rules were decided before
      // (started before an upgrade), wait where the starter passed --gate, as they did then.
      const ruled = patched('gates-from-rules') && policy.gates !== undefined;
      const waits = ruled
        ? policy.gates!.includes(name) && !(identity.cosignedFiring && policy.cosignedSkips?.includes(name))
        : (input.params as { gate?: unknown } | undefined)?.gate === true;
      if (waits) await rb.approval(name);
    },
  };

  try {
    await alarms?.start();
    await procedure(rb);
    alarms?.stop(true);
    setState(progress, 'COMPLETED');
    countRunEnded(progress);
    logRunEnded(progress);
    await noticeOfEnd();
    await condition(allHandlersFinished);
    return { state: 'COMPLETED', progress };
  } catch (err) {
    return await compensateAndFail(err);
  } finally {
    if (hold && 'release' in hold) await hold.release();
  }

  async function compensateAndFail(err: unknown): Promise<never> {
    // Undos are never stopped by an alarm: the watch ends here.
    alarms?.stop(true);
    progress.reason = describe(err);
    setState(progress, 'COMPENSATING');
    // Read before the undos run: they mark the steps they put back `compensated`.
    const failedStep =
      settlePoint &&
      progress.steps
        .slice(settlePoint.stepIndex)
        .reverse()
        .find((s) => s.status === 'failed');
    if (lockLost()) await CancellationScope.nonCancellable(retakeLock);
    // Only what was registered after the last settle point is undone (Saga.settle cleared the rest).
    await saga.compensate();
    // Runs from before this outcome existed ended COMPENSATED here and must replay the same way.
    const settled =
      settlePoint && patched('settled-then-failed')
        ? settledFailure(progress, settlePoint, failedStep || undefined)
        : undefined;
    if (settled) progress.settledFailure = settled;
    setState(
      progress,
      settled ? 'SETTLED_THEN_FAILED' : progress.leftToUndo.length ? 'FAILED_COMPENSATION' : 'COMPENSATED',
    );
    countRunEnded(progress);
    logRunEnded(progress);
    await noticeOfEnd();
    await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
    if (isCancellation(err)) throw err;
    const result: RunResult = { state: progress.state, progress };
    const left = progress.leftToUndo.length ? `; left to undo by hand: ${progress.leftToUndo.join(', ')}` : '';
    throw ApplicationFailure.create({
      type: settled
        ? FailureType.RunbookSettledThenFailed
        : progress.state === 'COMPENSATED'
          ? FailureType.RunbookCompensated
          : FailureType.RunbookFailedCompensation,
      message: settled
        ? `settled then failed: ${settled.stands} stands; ` +
          `${settled.failedStep ? `${settled.failedStep}: ` : ''}${settled.error}${left}`
        : `${progress.state.toLowerCase()} after: ${progress.reason}${left}`,
      nonRetryable: true,
      details: [result],
    });
  }

  /** Tells the environment's targets how the run ended (runs from before notices ended untold). */
  async function noticeOfEnd(): Promise<void> {
    if (!patched('notice-run-ended')) return;
    const event = END_EVENTS[progress.state];
    if (!event) return;
    const settled = progress.settledFailure;
    await sendNotice({
      event,
      runbook: progress.runbook,
      env: progress.env,
      initiator: progress.initiator,
      identity: identity.mode,
      ...(progress.reason && progress.state !== 'COMPLETED' ? { reason: progress.reason } : {}),
      ...(progress.leftToUndo.length ? { leftToUndo: progress.leftToUndo } : {}),
      ...(settled
        ? { stands: settled.stands, todo: settled.todo, ...(settled.failedStep ? { step: settled.failedStep } : {}) }
        : {}),
    });
  }

  /**
   * Takes the environment again before undoing, so no other run acts on it meanwhile: tried
   * every 30 s for as long as a failure gate waits; after that the undo goes ahead, said so.
   */
  async function retakeLock(): Promise<void> {
    if (!patched('lock-retaken-before-undo')) return;
    const deadline = Date.now() + policy.onFailure.timeoutMs;
    for (;;) {
      const again = await holdEnvironment(input.env);
      if ('release' in again) {
        hold = again;
        return;
      }
      if (Date.now() >= deadline) {
        progress.reason += `; undone while ${again.heldBy} held ${input.env}`;
        return;
      }
      await sleep('30 seconds');
    }
  }
}

function settledFailure(progress: RunProgress, point: SettlePoint, failed: StepRecord | undefined): SettledFailure {
  const todo = point.ifLaterFails?.(failed?.name) ?? [];
  if (progress.leftToUndo.length)
    todo.push(`undo by hand what this run did after that point: ${progress.leftToUndo.join(', ')}`);
  return {
    stands: point.why,
    ...(failed ? { failedStep: failed.name } : {}),
    error: failed?.error ?? progress.reason ?? 'unknown',
    todo,
  };
}

/** The innermost message of a failure: an activity's own words, not "Activity task failed". */
export function innermost(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  let message = String(err);
  while (e && typeof e === 'object') {
    if (e.message) message = e.message;
    e = e.cause as typeof e;
  }
  return message;
}

/** Whether the worker refused the run because a freeze window holds its environment. */
function frozen(err: unknown): boolean {
  for (
    let e = err as { type?: unknown; cause?: unknown } | undefined;
    e && typeof e === 'object';
    e = e.cause as typeof e
  )
    if (e.type === FailureType.Frozen) return true;
  return false;
}
