// Batches are parts of a run: started on their own (by hand, with an input of the sender's
// choosing) they would act with no signed start, no gate and no lock. They end at once, before
// any step; the activity boundary refuses their steps anyway (worker/activity-boundary.ts).
import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import { FailureType } from '../../common/failure-types';

export function mustBePartOfRun(runbook: string): void {
  const { workflowType, parent } = workflowInfo();
  if (!parent)
    throw ApplicationFailure.create({
      type: FailureType.CallerRefused,
      message: `refused: a ${workflowType} is part of a ${runbook} run and cannot be started on its own`,
      nonRetryable: true,
    });
}
