// The run's audit record: what the progress query returns and what the run ends with.
import { upsertSearchAttributes } from '@temporalio/workflow';
import {
  RunbookEnvKey,
  RunbookNameKey,
  RunbookStateKey,
  type RunInput,
  type RunProgress,
  type RunState,
} from '../../src/shared';

export function newProgress(input: RunInput): RunProgress {
  return {
    runbook: input.runbook,
    env: input.env,
    params: input.params,
    initiator: input.initiator,
    state: 'RUNNING',
    steps: [],
    gates: [],
    approvals: [],
    compensations: [],
    leftToUndo: [],
  };
}

export function setState(progress: RunProgress, state: RunState): void {
  progress.state = state;
  upsertSearchAttributes([{ key: RunbookStateKey, value: state }]);
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
