// The engine's own metrics, from workflow code: they leave the worker through its Prometheus
// endpoint (worker/telemetry.ts) beside the SDK's, and are never emitted during a replay, so a
// run is counted once whichever worker ran it. They go through a sink of ours
// (worker/workflow-metrics.ts) rather than the SDK's workflow meter, whose labels taskQueue and
// workflowType are not the snake_case Prometheus wants (`promtool check metrics`).
// Tags are bounded only because they are checked: a run's input is whatever its sender wrote, so
// runbook and environment tags are taken from it only once the worker has checked them against
// its own registry and inventory (decideRunRules); a run refused before that is counted as
// UNCHECKED. Step and gate names come from the runbook's code, outcomes from the kernel.
import { proxySinks, type Sinks } from '@temporalio/workflow';
import type { RunProgress } from '../../common/shared';

/** Every metric the workflows emit: name (base unit in it, counters without the _total Prometheus adds). */
export const WORKFLOW_METRICS = {
  runbook_runs_started: { kind: 'counter', unit: 'runs', help: 'runs started, by runbook and environment' },
  runbook_runs_ended: { kind: 'counter', unit: 'runs', help: 'runs ended, by runbook, environment and outcome' },
  runbook_step_duration_seconds: {
    kind: 'histogram',
    unit: 'seconds',
    help: 'how long steps took, retries and failure gates included',
  },
  runbook_gates_opened: { kind: 'counter', unit: 'gates', help: 'approval gates opened' },
  runbook_gate_wait_seconds: {
    kind: 'histogram',
    unit: 'seconds',
    help: 'how long approval gates waited for their decision',
  },
  runbook_undo_failures: { kind: 'counter', unit: 'undos', help: 'undos that failed: work left for a human' },
} as const;

export type WorkflowMetric = keyof typeof WORKFLOW_METRICS;

export interface MetricSinks extends Sinks {
  runbookMetrics: {
    /** Adds to a counter, or records in a histogram, as WORKFLOW_METRICS says `metric` is. */
    emit(metric: WorkflowMetric, value: number, tags: Record<string, string>): void;
  };
}

const { runbookMetrics } = proxySinks<MetricSinks>();

/** The runbook and environment tags of a run whose input the worker has not checked: its sender chose them. */
export const UNCHECKED = 'unknown';

type Tags = { runbook: string; env: string };
const tags = (p: Pick<RunProgress, 'runbook' | 'env'>): Tags => ({ runbook: p.runbook, env: p.env });
const tagsOf = (p: RunProgress, checked: boolean): Tags => (checked ? tags(p) : { runbook: UNCHECKED, env: UNCHECKED });

/** `checked`: the worker has checked the run's runbook and environment; until then they are not tags. */
export function countRunStarted(p: RunProgress, checked: boolean): void {
  runbookMetrics.emit('runbook_runs_started', 1, tagsOf(p, checked));
}

/** `outcome` is the run's final state: COMPLETED, COMPENSATED, FAILED_COMPENSATION, SETTLED_THEN_FAILED, REFUSED. */
export function countRunEnded(p: RunProgress, checked = true): void {
  runbookMetrics.emit('runbook_runs_ended', 1, { ...tagsOf(p, checked), outcome: p.state });
}

export function recordStep(p: RunProgress, step: string, status: string, startedAt: string, endedAt: string): void {
  runbookMetrics.emit('runbook_step_duration_seconds', seconds(startedAt, endedAt), {
    ...tags(p),
    step: stepTag(step),
    status,
  });
}

/** A step's name as a tag: numbers (a backup's timestamp) folded, so the set of values stays small. */
export function stepTag(step: string): string {
  return step.replace(/\d+/g, '#').slice(0, 80);
}

export function countGateOpened(p: RunProgress, gate: string): void {
  runbookMetrics.emit('runbook_gates_opened', 1, { ...tags(p), gate });
}

export function recordGateWait(
  p: RunProgress,
  gate: string,
  outcome: string,
  openedAt: string,
  closedAt: string,
): void {
  runbookMetrics.emit('runbook_gate_wait_seconds', seconds(openedAt, closedAt), { ...tags(p), gate, outcome });
}

export function countUndoFailed(p: RunProgress, step: string): void {
  runbookMetrics.emit('runbook_undo_failures', 1, { ...tags(p), step: stepTag(step) });
}

function seconds(from: string, to: string): number {
  return Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000);
}
