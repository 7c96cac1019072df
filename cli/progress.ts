// Reading a run's progress: the live query while a worker answers, else the record the run
// ended with.
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { progressQuery, type RunProgress, type RunResult } from '../common/shared';

export interface RunStatus {
  runId: string;
  status: string;
  startTime?: string;
  closeTime?: string;
  progress?: RunProgress;
  note?: string;
}

export async function readStatus(client: Client, handle: WorkflowHandle): Promise<RunStatus> {
  const description = await handle.describe();
  const status: RunStatus = {
    runId: handle.workflowId,
    status: description.status.name,
    startTime: description.startTime.toISOString(),
    closeTime: description.closeTime?.toISOString(),
  };
  if (description.status.name !== 'RUNNING') {
    status.progress = await endedProgress(handle);
    if (status.progress) return status;
  }
  try {
    status.progress = await client.withDeadline(Date.now() + 5000, () => handle.query(progressQuery));
  } catch {
    status.note = 'no worker answered the progress query (is `npm run worker` running?)';
  }
  return status;
}

async function endedProgress(handle: WorkflowHandle): Promise<RunProgress | undefined> {
  try {
    const result = (await handle.result()) as RunResult | undefined;
    return result?.progress;
  } catch (err) {
    if (err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure) {
      const result = err.cause.details?.[0] as RunResult | undefined;
      return result?.progress;
    }
    return undefined;
  }
}
