// The engine's own metrics, from workflow code through the SDK's workflow metric meter: they
// leave the worker through its Prometheus endpoint (worker/telemetry.ts) beside the SDK's,
// and are never emitted during a replay, so a run is counted once whichever worker ran it.
// Tags are bounded only because they are checked: a run's input is whatever its sender wrote, so
// runbook and environment tags are taken from it only once the worker has checked them against
// its own registry and inventory (decideRunRules); a run refused before that is counted as
// UNCHECKED. Step and gate names come from the runbook's code, outcomes from the kernel.
import { metricMeter } from '@temporalio/workflow';
import type { RunProgress } from '../../common/shared';

// Made when first used: the meter only works inside a workflow context.
const meters = {
  started: () => metricMeter.createCounter('runbook_runs_started', 'runs', 'runs started, by runbook and environment'),
  ended: () =>
    metricMeter.createCounter('runbook_runs_ended', 'runs', 'runs ended, by runbook, environment and outcome'),
  step: () =>
    metricMeter.createHistogram(
      'runbook_step_duration',
      'float',
      'seconds',
      'how long steps took, retries and failure gates included',
    ),
  gateOpened: () => metricMeter.createCounter('runbook_gates_opened', 'gates', 'approval gates opened'),
  gateWait: () =>
    metricMeter.createHistogram(
      'runbook_gate_wait',
      'float',
      'seconds',
      'how long approval gates waited for their decision',
    ),
  undoFailed: () =>
    metricMeter.createCounter('runbook_undo_failures', 'undos', 'undos that failed: work left for a human'),
};

/** The runbook and environment tags of a run whose input the worker has not checked: its sender chose them. */
export const UNCHECKED = 'unknown';

type Tags = { runbook: string; env: string };
const tags = (p: Pick<RunProgress, 'runbook' | 'env'>): Tags => ({ runbook: p.runbook, env: p.env });
const tagsOf = (p: RunProgress, checked: boolean): Tags => (checked ? tags(p) : { runbook: UNCHECKED, env: UNCHECKED });

/** `checked`: the worker has checked the run's runbook and environment; until then they are not tags. */
export function countRunStarted(p: RunProgress, checked: boolean): void {
  meters.started().add(1, tagsOf(p, checked));
}

/** `outcome` is the run's final state: COMPLETED, COMPENSATED, FAILED_COMPENSATION, SETTLED_THEN_FAILED, REFUSED. */
export function countRunEnded(p: RunProgress, checked = true): void {
  meters.ended().add(1, { ...tagsOf(p, checked), outcome: p.state });
}

export function recordStep(p: RunProgress, step: string, status: string, startedAt: string, endedAt: string): void {
  meters.step().record(seconds(startedAt, endedAt), { ...tags(p), step: stepTag(step), status });
}

/** A step's name as a tag: numbers (a backup's timestamp) folded, so the set of values stays small. */
export function stepTag(step: string): string {
  return step.replace(/\d+/g, '#').slice(0, 80);
}

export function countGateOpened(p: RunProgress, gate: string): void {
  meters.gateOpened().add(1, { ...tags(p), gate });
}

export function recordGateWait(
  p: RunProgress,
  gate: string,
  outcome: string,
  openedAt: string,
  closedAt: string,
): void {
  meters.gateWait().record(seconds(openedAt, closedAt), { ...tags(p), gate, outcome });
}

export function countUndoFailed(p: RunProgress, step: string): void {
  meters.undoFailed().add(1, { ...tags(p), step: stepTag(step) });
}

function seconds(from: string, to: string): number {
  return Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000);
}
