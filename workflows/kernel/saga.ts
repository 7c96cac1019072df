// Steps and their undos. An undo is registered *before* its step runs, because a step can
// change a host and then time out; every undo is therefore written to be safe when its step
// did nothing.
import { CancellationScope, isCancellation, patched } from '@temporalio/workflow';
import type { StepPlanOf } from '../../common/plan';
import type { RunProgress, StepRecord } from '../../common/shared';
import { LOST_WORKER_RERUNS, workerLost } from './activities';
import type { FailureGates } from './failure-gate';
import { countUndoFailed, recordStep } from './metrics';
import { MAX_ERROR } from './bounds';
import { now, showProgress } from './progress';
import { StepLine } from './run-log';
import { sendNotice } from './notice';

export interface StepAction<T> {
  run: () => Promise<T>;
  /** Puts back what `run` changed; omitted for steps that change nothing. */
  undo?: () => Promise<unknown>;
  /** A step is never skipped at its failure gate unless it says so (SkippableStep). */
  skippable?: false;
  /** How a dry run shows it; a step that acts hands on `standIn` there instead of running. */
  plan?: StepPlanOf<T>;
  /** It only reads: a dry run runs it for real. */
  reads?: boolean;
}

/**
 * A step an operator may skip at its failure gate. Its result is never handed on (the step
 * returns void), so a later step cannot use a value a skipped step never produced.
 */
export interface SkippableStep {
  run: () => Promise<unknown>;
  undo?: () => Promise<unknown>;
  skippable: true;
  /** Why going on without this step is safe. */
  why: string;
  plan?: StepPlanOf<unknown>;
  reads?: boolean;
}

interface Undo {
  step: string;
  undo: () => Promise<unknown>;
}

export class Saga {
  private readonly undos: Undo[] = [];

  constructor(
    private readonly progress: RunProgress,
    private readonly failureGates?: FailureGates,
  ) {}

  step<T>(name: string, action: StepAction<T>): Promise<T>;
  step(name: string, action: SkippableStep): Promise<void>;
  step(name: string, action: StepAction<unknown> | SkippableStep): Promise<unknown>;
  async step(name: string, action: StepAction<unknown> | SkippableStep): Promise<unknown> {
    if (action.undo) {
      this.undos.push({ step: name, undo: action.undo });
      // In the record too: a run terminated from outside runs no undo, and a person must know which.
      (this.progress.undosRegistered ??= []).push(name);
    }
    const record: StepRecord = { name, status: 'running', startedAt: now() };
    this.progress.steps.push(record);
    showProgress(this.progress);
    const line = new StepLine(this.progress, 'step', name);
    let attempt = 0;
    try {
      for (;;) {
        line.started(++attempt);
        try {
          const result = await action.run();
          record.status = 'done';
          if (isOutcome(result))
            Object.assign(record, { changed: result.changed, ...(result.detail ? { detail: result.detail } : {}) });
          line.ended(attempt, 'done');
          return result;
        } catch (err) {
          // Its worker lost with every attempt: the step runs again (safe, as after a retry at
          // its failure gate), its attempts renewed. patched(): runs from before this roll back.
          const lost = record.lostWorkers ?? 0;
          if (workerLost(err) && lost < LOST_WORKER_RERUNS && patched('step-outlives-lost-workers')) {
            record.lostWorkers = lost + 1;
            line.ended(attempt, 'worker lost', describe(err));
            showProgress(this.progress);
            if (patched('notice-lost-worker'))
              await sendNotice({
                event: 'step_rerun_after_lost_worker',
                runbook: this.progress.runbook,
                env: this.progress.env,
                initiator: this.progress.initiator,
                step: name,
                reruns: record.lostWorkers,
                error: describe(err),
              });
            continue;
          }
          record.status = 'failed';
          record.error = describe(err);
          line.ended(attempt, isCancellation(err) ? 'cancelled' : 'failed', record.error);
          // A cancelled run is rolled back, never held at a gate.
          if (!this.failureGates?.asks || isCancellation(err)) throw err;
          const decision = await this.failureGates.decide(name, err, action.skippable === true);
          if (decision === 'skip') {
            record.status = 'skipped';
            // Only a SkippableStep gets here, and its caller receives no result.
            return undefined;
          }
          record.status = 'running';
          record.error = undefined;
          showProgress(this.progress);
        }
      }
    } finally {
      record.endedAt = now();
      recordStep(this.progress, name, record.status, record.startedAt, record.endedAt);
      showProgress(this.progress);
    }
  }

  /** Everything done so far stays done: a later failure undoes only what comes after. */
  settle(): string[] {
    const settled = this.undos.map((u) => u.step);
    this.undos.length = 0;
    if (this.progress.undosRegistered) this.progress.undosRegistered = [];
    return settled;
  }

  /**
   * Runs every registered undo, newest first. Not cancellable: a cancelled run must still be
   * put back. A failing undo is recorded and the others still run.
   */
  async compensate(): Promise<void> {
    await CancellationScope.nonCancellable(async () => {
      for (const { step, undo } of [...this.undos].reverse()) {
        const record = { step, status: 'running' as const, startedAt: now() };
        this.progress.compensations.push(record);
        const stepRecord = this.progress.steps.find((s) => s.name === step);
        if (stepRecord) stepRecord.status = 'compensating';
        const line = new StepLine(this.progress, 'undo', step);
        line.started(1);
        try {
          await undo();
          Object.assign(record, { status: 'done', endedAt: now() });
          if (stepRecord) stepRecord.status = 'compensated';
          line.ended(1, 'done');
        } catch (err) {
          Object.assign(record, { status: 'failed', endedAt: now(), error: describe(err) });
          line.ended(1, 'failed', describe(err));
          if (stepRecord) stepRecord.status = 'compensation_failed';
          this.progress.leftToUndo.push(step);
          countUndoFailed(this.progress, step);
        }
        const registered = this.progress.undosRegistered ?? [];
        if (registered.includes(step)) registered.splice(registered.lastIndexOf(step), 1);
        showProgress(this.progress);
      }
    });
  }
}

function isOutcome(value: unknown): value is { changed: boolean; detail?: string } {
  return typeof value === 'object' && value !== null && typeof (value as { changed?: unknown }).changed === 'boolean';
}

/** The innermost message of a failure chain: what an operator needs to read. */
export function describe(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  const parts: string[] = [];
  while (e && typeof e === 'object') {
    if (e.message && !parts.includes(e.message)) parts.push(e.message);
    e = e.cause as typeof e;
  }
  const text = parts.join(': ') || String(err);
  // A step's error is recorded in the run's progress: bounded like every other field there.
  return text.length > MAX_ERROR ? `${text.slice(0, MAX_ERROR)}…` : text;
}
