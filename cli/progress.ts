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
  /** Steps on their second or later attempt: the server's record of what the run cannot see. */
  retries?: RetriedActivity[];
}

/** An activity the server is retrying, and why its last attempt ended (a lost worker shows as a heartbeat timeout). */
export interface RetriedActivity {
  activity: string;
  attempt: number;
  maximumAttempts?: number;
  lastFailure?: string;
  /** The worker that took the attempt shown, when one has: this attempt's once it runs, else the last ended one's. */
  lastWorker?: string;
  /** A worker runs this attempt now (so lastWorker is its worker, not the previous attempt's). */
  running?: boolean;
}

export async function readStatus(client: Client, handle: WorkflowHandle): Promise<RunStatus> {
  const description = await handle.describe();
  const status: RunStatus = {
    runId: handle.workflowId,
    status: description.status.name,
    startTime: description.startTime.toISOString(),
    closeTime: description.closeTime?.toISOString(),
  };
  const retries = retriedActivities(description.raw.pendingActivities ?? []);
  if (retries.length) status.retries = retries;
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

interface PendingActivity {
  activityType?: { name?: string | null } | null;
  state?: number | null;
  attempt?: number | null;
  maximumAttempts?: number | null;
  lastFailure?: { message?: string | null; encodedAttributes?: unknown } | null;
  lastWorkerIdentity?: string | null;
}

export function retriedActivities(pending: readonly PendingActivity[]): RetriedActivity[] {
  return pending
    .filter((a) => (a.attempt ?? 1) > 1)
    .map((a) => ({
      activity: a.activityType?.name ?? '?',
      attempt: a.attempt ?? 1,
      ...(a.maximumAttempts ? { maximumAttempts: a.maximumAttempts } : {}),
      // A timeout is the server's own failure, in clear; a step's error is sealed by the codec.
      ...(a.lastFailure
        ? {
            lastFailure: a.lastFailure.encodedAttributes
              ? 'failed (see runbook history)'
              : (a.lastFailure.message ?? 'failed'),
          }
        : {}),
      ...(a.lastWorkerIdentity ? { lastWorker: a.lastWorkerIdentity } : {}),
      ...(Number(a.state) === PENDING_ACTIVITY_STATE_STARTED ? { running: true } : {}),
    }));
}

/** temporal.api.enums.v1.PendingActivityState: a worker has the attempt. */
const PENDING_ACTIVITY_STATE_STARTED = 2;

/**
 * `↻ restartApp: attempt 2 of 3 not started yet (attempt 1 ended on worker 123@host-a: activity Heartbeat timeout)`,
 * then `↻ restartApp: attempt 2 of 3 running on worker 456@host-b (attempt 1 ended: activity Heartbeat timeout)`.
 * The server names one worker per activity, the one that took its latest attempt, so the name
 * moves from the ended attempt to the new one once a worker takes it.
 */
export function retryText(r: RetriedActivity): string {
  const of = r.maximumAttempts ? ` of ${r.maximumAttempts}` : '';
  const why = r.lastFailure ? `: ${r.lastFailure}` : '';
  const ended = `attempt ${r.attempt - 1} ended`;
  if (r.running) {
    const on = r.lastWorker ? ` on worker ${r.lastWorker}` : '';
    return `↻ ${r.activity}: attempt ${r.attempt}${of} running${on} (${ended}${why})`;
  }
  const where = r.lastWorker ? ` on worker ${r.lastWorker}` : '';
  return `↻ ${r.activity}: attempt ${r.attempt}${of} not started yet (${ended}${where}${why})`;
}
