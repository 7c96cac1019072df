// The run's audit record: what the progress query returns and what the run ends with.
import { setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import {
  maskSecrets,
  RunbookEnvKey,
  RunbookNameKey,
  RunbookStateKey,
  type RunInput,
  type RunProgress,
  type RunState,
} from '../../common/shared';
import { progressMarkdown } from '../../common/progress-view';

export function newProgress(input: RunInput): RunProgress {
  return {
    runbook: input.runbook,
    env: input.env,
    params: maskSecrets(input.params),
    initiator: input.initiator,
    state: 'RUNNING',
    steps: [],
    gates: [],
    approvals: [],
    compensations: [],
    leftToUndo: [],
    settled: [],
  };
}

export function setState(progress: RunProgress, state: RunState): void {
  progress.state = state;
  upsertSearchAttributes([{ key: RunbookStateKey, value: state }]);
  showProgress(progress);
}

/** The run as the Web UI shows it ("current details"): the same view as status and watch, in Markdown. */
export function showProgress(p: RunProgress): void {
  setCurrentDetails(progressMarkdown(p, { runId: workflowInfo().workflowId, decide: 'ui' }));
}

/** Search attributes a run carries from its first task, so the UI and `runbook list` can filter. */
export function tagRun(input: RunInput): void {
  upsertSearchAttributes([
    { key: RunbookNameKey, value: input.runbook },
    { key: RunbookEnvKey, value: input.env },
    { key: RunbookStateKey, value: 'RUNNING' },
  ]);
}

export function now(): string {
  // Date is replay-safe inside the workflow sandbox.
  return new Date().toISOString();
}
