// `runbook history <id>`: a run's audit trail, also long after it closed. The run's own record
// (its progress: steps, gates, decisions, undos) comes from its result, or the failure it ended
// with; while it runs, from the progress query. The server's event history adds what only the
// server saw (which client started the run and sent each decision) and stands in for the run's
// record when there is none (a cancelled or terminated run, no worker to ask).
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { maskSecrets, type RunInput, type RunProgress } from '../common/shared';
import { readStatus } from './progress';
import { formatDuration } from '../common/duration';
import { progressLines } from '../common/progress-view';
import { inertText } from '../common/inert';
import { cutOffText } from './cut-off';

/** Something the server recorded: a decision sent, a step's activity, the run's start and end. */
export interface ServerEvent {
  at: string;
  what: string;
  /** The client that caused it (its Temporal identity), when there was one. */
  by?: string;
  detail?: unknown;
}

export interface AuditTrail {
  runId: string;
  status: string;
  startTime?: string;
  closeTime?: string;
  /** Where the run's own record came from; absent when only the server's events are known. */
  recordFrom?: 'result' | 'progress query';
  /** Who started it, with which parameters (secrets masked): from the run's input. */
  started?: { initiator: string; runbook: string; env: string; params: Record<string, unknown>; by?: string };
  progress?: RunProgress;
  events: ServerEvent[];
}

export async function readAuditTrail(client: Client, runId: string): Promise<AuditTrail> {
  const handle = client.workflow.getHandle(runId);
  const status = await readStatus(client, handle);
  const trail: AuditTrail = {
    runId,
    status: status.status,
    startTime: status.startTime,
    closeTime: status.closeTime,
    events: [],
  };
  if (status.progress) {
    trail.progress = status.progress;
    // A run that completed or failed carries its record in its result; otherwise a worker answered the query.
    trail.recordFrom = status.status === 'COMPLETED' || status.status === 'FAILED' ? 'result' : 'progress query';
  }
  await addServerEvents(client, handle, trail);
  return trail;
}

/** The fields of history events read here (the SDK's protobuf types, narrowed). */
interface HistoryEvent {
  eventId?: unknown;
  eventTime?: { seconds?: unknown; nanos?: number | null } | null;
  workflowExecutionStartedEventAttributes?: {
    input?: { payloads?: Payload[] | null } | null;
    identity?: string | null;
  } | null;
  workflowExecutionSignaledEventAttributes?: {
    signalName?: string | null;
    input?: { payloads?: Payload[] | null } | null;
    identity?: string | null;
  } | null;
  workflowExecutionUpdateAcceptedEventAttributes?: {
    acceptedRequest?: {
      input?: { name?: string | null; args?: { payloads?: Payload[] | null } | null } | null;
      meta?: { identity?: string | null } | null;
    } | null;
  } | null;
  workflowExecutionCancelRequestedEventAttributes?: { identity?: string | null; cause?: string | null } | null;
  workflowExecutionTerminatedEventAttributes?: { identity?: string | null; reason?: string | null } | null;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
  activityTaskStartedEventAttributes?: {
    scheduledEventId?: unknown;
    attempt?: number | null;
    identity?: string | null;
    lastFailure?: EventFailure | null;
  } | null;
  activityTaskCompletedEventAttributes?: { scheduledEventId?: unknown } | null;
  activityTaskFailedEventAttributes?: { scheduledEventId?: unknown; failure?: EventFailure | null } | null;
  activityTaskTimedOutEventAttributes?: { scheduledEventId?: unknown } | null;
  workflowExecutionCompletedEventAttributes?: object | null;
  workflowExecutionFailedEventAttributes?: { failure?: EventFailure | null } | null;
  workflowExecutionCanceledEventAttributes?: object | null;
  workflowExecutionTimedOutEventAttributes?: object | null;
}

/** A failure as history holds it: with an encoding failure converter, the message is in `encodedAttributes`. */
type EventFailure = { message?: string | null; encodedAttributes?: Payload | null };

async function addServerEvents(client: Client, handle: WorkflowHandle, trail: AuditTrail): Promise<void> {
  const history = await handle.fetchHistory();
  const converter = client.options.loadedDataConverter;
  // Payloads go through the client's data converter, so a payload codec in it decodes them.
  const decode = async (payloads: Payload[] | null | undefined): Promise<unknown[]> => {
    try {
      return await decodeArrayFromPayloads(converter, payloads ?? []);
    } catch (err) {
      return [`(cannot decode: ${(err as Error).message})`];
    }
  };
  const failureMessage = async (failure: EventFailure | null | undefined): Promise<string | undefined> => {
    if (failure?.encodedAttributes) {
      const [attributes] = await decode([failure.encodedAttributes]);
      const message = (attributes as { message?: unknown } | undefined)?.message;
      if (typeof message === 'string') return message;
    }
    return failure?.message ?? undefined;
  };
  const activities = new Map<string, string>();
  for (const raw of history.events ?? []) {
    const ev = raw as HistoryEvent;
    const at = new Date(optionalTsToMs(ev.eventTime as never) ?? 0).toISOString();
    const push = (what: string, by?: string | null, detail?: unknown) =>
      trail.events.push({ at, what, ...(by ? { by } : {}), ...(detail === undefined ? {} : { detail }) });
    if (ev.workflowExecutionStartedEventAttributes) {
      const a = ev.workflowExecutionStartedEventAttributes;
      const [input] = (await decode(a.input?.payloads)) as [RunInput | undefined];
      if (input && typeof input === 'object') {
        trail.started = {
          initiator: input.initiator,
          runbook: input.runbook,
          env: input.env,
          params: maskSecrets(input.params ?? {}),
          ...(a.identity ? { by: a.identity } : {}),
        };
      }
      push('started', a.identity);
    } else if (ev.workflowExecutionSignaledEventAttributes) {
      const a = ev.workflowExecutionSignaledEventAttributes;
      const [input] = await decode(a.input?.payloads);
      push(`signal ${a.signalName}`, a.identity, input);
    } else if (ev.workflowExecutionUpdateAcceptedEventAttributes) {
      const req = ev.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest;
      const args = await decode(req?.input?.args?.payloads);
      push(`update ${req?.input?.name}`, req?.meta?.identity, args.length === 1 ? args[0] : args);
    } else if (ev.workflowExecutionCancelRequestedEventAttributes) {
      push(
        'cancel requested',
        ev.workflowExecutionCancelRequestedEventAttributes.identity,
        ev.workflowExecutionCancelRequestedEventAttributes.cause || undefined,
      );
    } else if (ev.workflowExecutionTerminatedEventAttributes) {
      push(
        'terminated',
        ev.workflowExecutionTerminatedEventAttributes.identity,
        ev.workflowExecutionTerminatedEventAttributes.reason || undefined,
      );
    } else if (ev.activityTaskScheduledEventAttributes) {
      const name = ev.activityTaskScheduledEventAttributes.activityType?.name ?? '?';
      activities.set(String(ev.eventId), name);
      push(`activity ${name} scheduled`);
    } else if (ev.activityTaskStartedEventAttributes) {
      // The server writes one started event per activity, for its last attempt: an attempt
      // above 1 means earlier ones were lost (a worker gone: heartbeat timeout) or failed.
      const a = ev.activityTaskStartedEventAttributes;
      if ((a.attempt ?? 1) > 1) {
        const why = (await failureMessage(a.lastFailure)) ?? 'failed';
        push(
          `activity ${activities.get(String(a.scheduledEventId)) ?? '?'} retried: attempt ${a.attempt}`,
          a.identity,
          `attempt ${(a.attempt ?? 2) - 1} ended: ${why}`,
        );
      }
    } else if (ev.activityTaskCompletedEventAttributes) {
      push(
        `activity ${activities.get(String(ev.activityTaskCompletedEventAttributes.scheduledEventId)) ?? '?'} completed`,
      );
    } else if (ev.activityTaskFailedEventAttributes) {
      const a = ev.activityTaskFailedEventAttributes;
      push(
        `activity ${activities.get(String(a.scheduledEventId)) ?? '?'} failed`,
        undefined,
        await failureMessage(a.failure),
      );
    } else if (ev.activityTaskTimedOutEventAttributes) {
      push(
        `activity ${activities.get(String(ev.activityTaskTimedOutEventAttributes.scheduledEventId)) ?? '?'} timed out`,
      );
    } else if (ev.workflowExecutionCompletedEventAttributes) {
      push('completed');
    } else if (ev.workflowExecutionFailedEventAttributes) {
      push('failed', undefined, await failureMessage(ev.workflowExecutionFailedEventAttributes.failure));
    } else if (ev.workflowExecutionCanceledEventAttributes) {
      push('cancelled');
    } else if (ev.workflowExecutionTimedOutEventAttributes) {
      push('timed out');
    }
  }
}

/** What the operator asked of the rules, what the worker applied, and each request it overruled. */
export function policyLines(p: RunProgress): string[] {
  if (!p.policy) return ["  rules: as the run's input carried them (a run from before the worker decided them)"];
  const { asked, applied, overruled } = p.policy;
  const wanted = Object.entries(asked).map(([k, v]) => inertText(`${k} ${JSON.stringify(v)}`));
  const lock = applied.mutating ? 'holds the environment' : 'takes no lock (read-only)';
  return [
    `  asked: ${wanted.length ? wanted.join(', ') : "nothing beyond the environment's rules"}`,
    `  applied (decided on the worker): ${applied.approval.required} approval(s) ` +
      `from ${applied.approval.approvers.join(', ') || '(none listed)'} ` +
      `within ${formatDuration(applied.approval.timeoutMs)}; ${lock}; on failure ${applied.onFailure.policy}` +
      (applied.onFailure.policy === 'ask' ? ` (waits ${formatDuration(applied.onFailure.timeoutMs)})` : ''),
    ...overruled.map((o) => `  overruled: ${inertText(o)}`),
    ...(applied.gates?.length ? [`  four eyes at: ${applied.gates.join(', ')}`] : []),
    ...(applied.beyondBounds ?? []).map((b) => `  beyond bounds: ${inertText(b)}`),
    ...scheduledLines(p),
  ];
}

/** A run a signed schedule fired: co-signed or not, and whether its timetable or a person fired it. */
function scheduledLines(p: RunProgress): string[] {
  const s = p.scheduled;
  if (!s) return [];
  const firing =
    s.firing === 'spec' ? 'at a time its timetable called for' : 'by hand (not at a time its timetable called for)';
  const cosigned = s.cosignedBy
    ? `co-signed by ${s.cosignedBy}, signed with ${s.cosignKey}`
    : `not co-signed${s.cosignRefused ? ` (${s.cosignRefused})` : ''}`;
  return [`  fired by schedule ${s.schedule} ${firing}; ${cosigned}`];
}
/** The audit trail as text: who started it and how, the decisions, the steps and undos, then the server's events. */
export function formatAuditTrail(t: AuditTrail): string[] {
  const p = t.progress;
  const s = t.started ?? (p ? { initiator: p.initiator, runbook: p.runbook, env: p.env, params: p.params } : undefined);
  // What the run's input, its clients and its record say is shown inert (common/inert.ts); --json is exact.
  const v = (value: unknown) => inertText(value);
  const lines = [
    `${v(t.runId)}: ${v(p?.state ?? t.status)}${p && p.state !== t.status ? ` (workflow ${t.status})` : ''}`,
  ];
  const proven = p?.initiatorKey
    ? `, signed with ${v(p.initiatorKey)}`
    : p?.identity === 'typed'
      ? ', name as typed'
      : '';
  if (s)
    lines.push(
      `  started ${t.startTime ?? '?'} by ${v(s.initiator)}${proven}${s.by ? ` (client ${v(s.by)})` : ''}: ` +
        `${v(s.runbook)} on ${v(s.env)} with ${v(JSON.stringify(s.params))}`,
    );
  const cutOff = cutOffText(t.status, p);
  if (cutOff) lines.push(`  ${cutOff}`);
  if (t.closeTime)
    lines.push(
      `  closed ${t.closeTime}` +
        `${t.startTime ? ` after ${formatDuration(Date.parse(t.closeTime) - Date.parse(t.startTime))}` : ''}`,
    );
  if (!p) {
    const why =
      t.status === 'RUNNING'
        ? 'no worker answered the progress query'
        : `it ended ${t.status.toLowerCase()} without a result, and no worker answered the progress query`;
    lines.push(`  (no record from the run itself: ${why}; what the server recorded follows)`);
  } else {
    lines.push(`  (record from the ${t.recordFrom})`);
    lines.push(...policyLines(p));
    // The run's record as status and watch show it, with when each thing started and ended; the header is ours.
    lines.push(
      ...progressLines(p, { runId: t.runId, decide: 'none', times: 'span' })
        .slice(1)
        .map((l) => l.text),
    );
  }
  lines.push('  server events:');
  for (const e of t.events) {
    // Activity scheduling is the run's own record already, when there is one.
    if (p && e.what.startsWith('activity ') && !e.what.endsWith('failed') && !e.what.includes(' retried: ')) continue;
    lines.push(
      `    ${e.at} ${v(e.what)}${e.by ? ` by ${v(e.by)}` : ''}` +
        `${e.detail === undefined ? '' : `: ${v(JSON.stringify(e.detail))}`}`,
    );
  }
  return lines;
}
