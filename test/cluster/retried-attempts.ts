// The server's record of a run's retried activities, read from its history: which activity,
// which attempt finally ran and on which worker, why the attempt before it ended, and the
// timeouts the step was scheduled with. Facts of the history, not of a clock.
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

export interface RetriedAttempt {
  activity: string;
  /** The attempt that ran last (the server writes one started event per activity, for it). */
  attempt: number;
  /** `pid@host` of the worker that ran that attempt. */
  identity: string;
  /** Why the attempt before it ended: HEARTBEAT for a worker gone silent. */
  lastTimeout?: string;
  heartbeatTimeoutMs: number;
  startToCloseTimeoutMs: number;
}

type Duration = { seconds?: { toString(): string } | number | null; nanos?: number | null } | null | undefined;

function durationMs(d: Duration): number {
  return Number(d?.seconds?.toString() ?? 0) * 1000 + Math.round((d?.nanos ?? 0) / 1e6);
}

export async function retriedAttempts(handle: WorkflowHandle): Promise<RetriedAttempt[]> {
  const history = await handle.fetchHistory();
  const scheduled = new Map<string, temporal.api.history.v1.IActivityTaskScheduledEventAttributes>();
  const retried: RetriedAttempt[] = [];
  for (const event of history.events ?? []) {
    const s = event.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(event.eventId), s);
    const started = event.activityTaskStartedEventAttributes;
    if (!started || (started.attempt ?? 1) < 2) continue;
    const options = scheduled.get(String(started.scheduledEventId));
    const timeoutType = started.lastFailure?.timeoutFailureInfo?.timeoutType;
    retried.push({
      activity: options?.activityType?.name ?? '?',
      attempt: started.attempt ?? 1,
      identity: started.identity ?? '',
      ...(timeoutType
        ? { lastTimeout: temporal.api.enums.v1.TimeoutType[timeoutType].replace('TIMEOUT_TYPE_', '') }
        : {}),
      heartbeatTimeoutMs: durationMs(options?.heartbeatTimeout),
      startToCloseTimeoutMs: durationMs(options?.startToCloseTimeout),
    });
  }
  return retried;
}
