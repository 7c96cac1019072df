// What a schedule fires: prepares the run on the worker, then starts it as a child with an
// ordinary run id and waits for it. Waiting is what makes the schedule's overlap policy (skip)
// see a run still going. The child carries the runbook's search attributes, so `runbook list`
// shows it; this launcher carries none.
import { ChildWorkflowCancellationType, executeChild, ParentClosePolicy } from '@temporalio/workflow';
import type * as activities from '../activities';
import type { ScheduledRequest } from '../src/schedules';
import { RUN_WORKFLOW_TASK_TIMEOUT, RunbookEnvKey, RunbookNameKey, type RunResult } from '../common/shared';
import { stepActivities } from './kernel';

const { prepareScheduledRun } = stepActivities<typeof activities>({ startToCloseTimeout: '1 minute' });

export async function scheduledRun(request: ScheduledRequest): Promise<RunResult> {
  const run = await prepareScheduledRun(request);
  return executeChild<(input: typeof run.input) => Promise<RunResult>>(run.workflow, {
    workflowId: run.runId,
    args: [run.input],
    typedSearchAttributes: [
      { key: RunbookNameKey, value: run.input.runbook },
      { key: RunbookEnvKey, value: run.input.env },
    ],
    staticSummary: run.summary,
    staticDetails: run.details,
    workflowTaskTimeout: RUN_WORKFLOW_TASK_TIMEOUT,
    // Cancelling the firing cancels the run, which then undoes its steps; ending the launcher
    // any other way (terminate) still asks the run to cancel rather than cutting it off.
    cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
    parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
  });
}
