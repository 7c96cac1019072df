// Before the worker acts for a run, it checks that every admission verdict the run has taken so
// far (its start proven, its rules, each signature checked at a gate) carries the workers' seal
// (./seal.ts). A verdict without it was written into the history by someone completing the
// activity by its id, not by a worker: the run's decisions rest on it, so the worker no longer
// acts for that run at all, undos included, and says which verdict it was. Only the events
// added since the last look are read (newest first, one page as a rule), once per step.
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import type { temporal } from '@temporalio/proto';
import { activityKind } from '../activities/registry';
import { temporalClient } from '../activities/temporal-client';
import { sealHolds, type SealKey } from './seal';

interface Execution {
  workflowId: string;
  runId: string;
}

interface RunAudit {
  /** The newest event looked at, and its time (ms). */
  lastEventId: number;
  lastEventMs: number;
  /** Admission activities scheduled and not yet ended, by their scheduled event's id. */
  pending: Map<number, { type: string; activityId: string }>;
  /** Set once a verdict fails its seal: the run is refused from then on. */
  refused?: string;
  /** The look in progress: looks at one run are taken one after the other. */
  looking: Promise<void>;
}

const MAX_RUNS = 10_000;
const PAGE = 200;

export class AdmissionAudit {
  private readonly runs = new Map<string, RunAudit>();

  constructor(private readonly key: SealKey) {}

  /**
   * Why the worker must not act for `run`, or undefined: every admission verdict completed up to
   * `coveredMs` (an instant on the server's clock) was made by a worker holding the seal key.
   */
  async refusal(run: Execution, coveredMs: number): Promise<string | undefined> {
    const k = `${run.workflowId}\n${run.runId}`;
    let audit = this.runs.get(k);
    if (!audit) {
      if (this.runs.size >= MAX_RUNS) this.runs.delete(this.runs.keys().next().value!);
      audit = { lastEventId: 0, lastEventMs: -1, pending: new Map(), looking: Promise.resolve() };
      this.runs.set(k, audit);
    }
    const a = audit;
    const look = a.looking.then(async () => {
      if (a.refused || a.lastEventMs > coveredMs) return;
      await this.readNewEvents(run, a);
    });
    a.looking = look.catch(() => undefined);
    await look;
    return a.refused;
  }

  private async readNewEvents(run: Execution, audit: RunAudit): Promise<void> {
    const client = await temporalClient();
    const fresh: temporal.api.history.v1.IHistoryEvent[] = [];
    let nextPageToken: Uint8Array | undefined;
    reading: do {
      const page = await client.workflowService.getWorkflowExecutionHistoryReverse({
        namespace: client.options.namespace,
        execution: run,
        maximumPageSize: PAGE,
        nextPageToken,
      });
      for (const event of page.history?.events ?? []) {
        if (Number(event.eventId) <= audit.lastEventId) break reading;
        fresh.push(event);
      }
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken);
    fresh.reverse();
    for (const event of fresh) {
      await this.look(client.options.namespace, run, audit, event);
      if (audit.refused) return;
      audit.lastEventId = Number(event.eventId);
      audit.lastEventMs = eventMs(event);
    }
  }

  private async look(
    namespace: string,
    run: Execution,
    audit: RunAudit,
    event: temporal.api.history.v1.IHistoryEvent,
  ): Promise<void> {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      const type = scheduled.activityType?.name ?? '';
      if (activityKind(type) === 'admission')
        audit.pending.set(Number(event.eventId), { type, activityId: scheduled.activityId ?? '' });
      return;
    }
    const ended =
      event.activityTaskFailedEventAttributes ??
      event.activityTaskTimedOutEventAttributes ??
      event.activityTaskCanceledEventAttributes;
    if (ended) {
      audit.pending.delete(Number(ended.scheduledEventId));
      return;
    }
    const completed = event.activityTaskCompletedEventAttributes;
    if (!completed) return;
    const activity = audit.pending.get(Number(completed.scheduledEventId));
    if (!activity) return;
    audit.pending.delete(Number(completed.scheduledEventId));
    const client = await temporalClient();
    const [result] = await decodeArrayFromPayloads(
      client.options.loadedDataConverter,
      completed.result?.payloads ?? [],
    ).catch(() => [undefined]);
    const { seal: sealed, ...verdict } = (typeof result === 'object' && result !== null ? result : {}) as {
      seal?: unknown;
    };
    // Runs admitted before the workers had a seal key keep the verdicts they were given then.
    if (sealed === undefined && eventMs(event) < this.key.sinceMs) return;
    const what = { namespace, ...run, activityId: activity.activityId, activityType: activity.type };
    if (!sealHolds(this.key, what, verdict, sealed))
      audit.refused =
        `its ${activity.type} verdict (activity ${activity.activityId}) was not made by a worker holding ` +
        `the seal key ${this.key.file}: it was completed by its id from outside, or by a worker given another key`;
  }
}

function eventMs(event: temporal.api.history.v1.IHistoryEvent): number {
  return Number(event.eventTime?.seconds ?? 0) * 1000 + Math.floor((event.eventTime?.nanos ?? 0) / 1e6);
}
