// Runbooks on a timetable, as Temporal Schedules: one schedule per runbook and environment
// (id "<runbook>-<env>"), overlap policy skip (a run still going makes the next one skip), and a
// catch-up window for runs missed while Temporal was down. A schedule fires `scheduledRun`,
// which prepares the run on the worker (validated against the registry and the inventory as
// they are *then*) and starts it as a child with an ordinary run id, so scheduled runs look,
// list and behave like runs started by hand.
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
} from '@temporalio/client';
import { UsageError } from './errors';
import { formatDuration, parseDuration } from '../common/duration';
import { prepareRun, type PreparedRun } from './start';
import type { Signed } from '../common/signed-message';
import type { Cosign } from '../common/shared';

/** What a schedule hands `scheduledRun` at every firing. */
export interface ScheduledRequest {
  scheduleId: string;
  runbook: string;
  env: string;
  params: Record<string, string | number | boolean | string[]>;
  /**
   * Who created the schedule: the initiator of every run it fires, so four eyes holds (whoever
   * schedules a gated runbook cannot approve its runs).
   */
  createdBy: string;
  /** In a signed environment: the creator's signature, which proves who the initiator of its runs is. */
  proof?: Signed;
  /**
   * On a protected environment: a second approver's signature over the schedule as it stands
   * (scheduleSubject), added by `runbook schedule approve`. Without it the schedule is created
   * paused, and a firing waits at its runbook's gates like a run started by hand.
   */
  cosign?: Cosign;
}

/**
 * What a co-signer approves: the runbook, environment, parameters and creator of a schedule,
 * its timetable and its policies, as Temporal describes them. Changing any of them (an update by
 * anyone) leaves the co-signature over something else: the runs then wait at their gates again.
 */
export function scheduleSubject(d: ScheduleDescription): string {
  const request = (d.action.args?.[0] ?? {}) as Partial<ScheduledRequest>;
  const { runbook, env, params, createdBy, scheduleId } = request;
  return canonical({
    scheduleId: d.scheduleId,
    request: { scheduleId, runbook, env, params, createdBy },
    workflowType: d.action.workflowType,
    taskQueue: d.action.taskQueue,
    spec: d.spec,
    policies: { overlap: d.policies.overlap, catchupWindow: d.policies.catchupWindow },
  });
}

/** JSON with every object's keys sorted: the same bytes for the same content, whichever side builds it. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]),
        )
      : v,
  );
}

/** What binds a co-signature to this schedule, not a later one of the same id: its creation time. */
export function scheduleNonce(d: ScheduleDescription): string {
  return d.info.createdAt.toISOString();
}

export const SCHEDULED_RUN_WORKFLOW = 'scheduledRun';
export const DEFAULT_CATCHUP_WINDOW = '1h';
/** Temporal refuses shorter catch-up windows. */
const MIN_CATCHUP_MS = 10_000;
const SCHEDULE_ID = /^[a-z][a-z0-9-]{0,150}$/;
const CRON_FIELD = /^[0-9A-Za-z*/,?#LW-]+$/;
const CRON_MACRO = /^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/;
const TIME_ZONE = /^[A-Za-z][A-Za-z0-9_+/-]{0,63}$/;

export function scheduleId(runbook: string, env: string): string {
  return `${runbook}-${env}`;
}

/** The initiator recorded on a schedule's runs: the person who created it, never the schedule. */
export function scheduleInitiator(request: ScheduledRequest): string {
  return request.createdBy;
}

export interface ScheduleRequest {
  runbook: string;
  env: string;
  params: Record<string, string | number | boolean | string[] | undefined>;
  initiator: string;
  cron?: string;
  timezone?: string;
  interval?: string;
  catchupWindow?: string;
}

export interface PreparedSchedule {
  scheduleId: string;
  run: PreparedRun;
  /** "every 10m", "cron 0 2 * * * (Europe/Paris)". */
  when: string;
  options: ScheduleOptions;
}

/** Validates everything `runbook start` would, and the timing, before Temporal is asked. */
export function prepareSchedule(req: ScheduleRequest, taskQueue: string): PreparedSchedule {
  const run = prepareRun({ runbook: req.runbook, env: req.env, params: req.params, initiator: req.initiator });
  const id = scheduleId(run.spec.name, run.input.env);
  if ((req.cron === undefined) === (req.interval === undefined))
    throw new UsageError(
      'a schedule needs either --cron "<min> <hour> <day> <month> <weekday>" or --interval <duration>',
    );
  let spec: ScheduleOptions['spec'];
  let when: string;
  if (req.cron !== undefined) {
    const cron = req.cron.trim();
    const fields = cron.split(/\s+/);
    if (!CRON_MACRO.test(cron) && (fields.length !== 5 || !fields.every((f) => CRON_FIELD.test(f)))) {
      throw new UsageError(
        `--cron ${JSON.stringify(req.cron)} is not a cron expression: ` +
          `five fields, minute hour day-of-month month day-of-week, e.g. "0 2 * * *"`,
      );
    }
    const timezone = req.timezone ?? 'UTC';
    if (!TIME_ZONE.test(timezone) || !isTimeZone(timezone))
      throw new UsageError(
        `--timezone ${JSON.stringify(req.timezone)} is not a time zone name (e.g. Europe/Paris, UTC)`,
      );
    spec = { cronExpressions: [cron], timezone };
    when = `cron ${cron} (${timezone})`;
  } else {
    if (req.timezone !== undefined)
      throw new UsageError('--timezone goes with --cron: an --interval counts from the epoch, in no time zone');
    const every = usageDuration(req.interval!, '--interval');
    if (every < 1000) throw new UsageError('--interval must be at least 1s');
    spec = { intervals: [{ every }] };
    when = `every ${formatDuration(every)}`;
  }
  const catchupWindow = usageDuration(req.catchupWindow ?? DEFAULT_CATCHUP_WINDOW, '--catchup-window');
  if (catchupWindow < MIN_CATCHUP_MS) throw new UsageError('--catchup-window must be at least 10s');

  const request: ScheduledRequest = {
    scheduleId: id,
    runbook: run.spec.name,
    env: run.input.env,
    params: run.input.params as ScheduledRequest['params'],
    createdBy: req.initiator,
  };
  const options: ScheduleOptions = {
    scheduleId: id,
    spec,
    action: {
      type: 'startWorkflow',
      workflowType: SCHEDULED_RUN_WORKFLOW,
      // Temporal appends the firing time to this id; the run itself gets an ordinary run id.
      workflowId: `scheduled-${id}`,
      args: [request],
      taskQueue,
      staticSummary: `schedule ${id}: starts ${run.spec.name} on ${run.input.env}`,
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow },
    memo: { runbook: run.spec.name, env: run.input.env, createdBy: req.initiator, when },
    state: { note: `${run.spec.name} on ${run.input.env} ${when}, created by ${req.initiator}` },
  };
  // Four eyes on a protected environment: a gated runbook's schedule waits for a second approver's signature.
  if (needsCosign(run)) options.state = { paused: true, note: pendingNote(id, options.state!.note!) };
  return { scheduleId: id, run, when, options };
}

/** Whether a schedule of this run needs a second signature: a runbook with gates, on a protected environment. */
export function needsCosign(run: PreparedRun): boolean {
  return run.environment.protected && run.spec.protectedGates.length > 0;
}

function pendingNote(id: string, note: string): string {
  return `${note}; paused until another approver co-signs it: runbook schedule approve ${id} --as <approver>`;
}

/**
 * A second approver's signature over the schedule as it stands: added to its action, and the
 * schedule resumed. The worker checks it at every firing (activities/identity/start.ts).
 */
export async function cosignSchedule(
  client: Client,
  id: string,
  by: string,
  sign: (d: ScheduleDescription) => Promise<Cosign>,
): Promise<ScheduleDescription> {
  const handle = client.schedule.getHandle(id);
  const d = await withSchedule(id, () => handle.describe());
  const request = d.action.args?.[0] as ScheduledRequest | undefined;
  if (d.action.workflowType !== SCHEDULED_RUN_WORKFLOW || !request?.runbook)
    throw new UsageError(`schedule ${id} does not start a runbook`);
  if (by === request.createdBy)
    throw new UsageError(`${by} created schedule ${id} and cannot also co-sign it (four eyes): ask another approver`);
  const cosign = await sign(d);
  await handle.update((prev) => ({
    ...prev,
    action: { ...prev.action, args: [{ ...request, cosign }] },
    state: {
      ...prev.state,
      paused: false,
      note: `${prev.state.note?.split('; paused until')[0] ?? ''}; co-signed by ${by}`,
    },
  }));
  const after = await handle.describe();
  if (scheduleSubject(after) !== scheduleSubject(d))
    throw new Error(`schedule ${id} changed while it was co-signed: run runbook schedule approve again`);
  return after;
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

function usageDuration(text: string, what: string): number {
  try {
    return parseDuration(text, what);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function checkScheduleId(id: string | undefined, command: string): string {
  if (!id) throw new UsageError(`schedule ${command} needs a schedule id (see runbook schedule list)`);
  if (!SCHEDULE_ID.test(id)) throw new UsageError(`invalid schedule id ${JSON.stringify(id)}`);
  return id;
}

export async function createSchedule(client: Client, prepared: PreparedSchedule): Promise<ScheduleDescription> {
  try {
    const handle = await client.schedule.create(prepared.options);
    return await handle.describe();
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning)
      throw new UsageError(
        `schedule ${prepared.scheduleId} already exists (runbook schedule delete ${prepared.scheduleId} first)`,
      );
    if (isInvalidArgument(err)) throw new UsageError(`Temporal refused the schedule: ${(err as Error).message}`);
    throw err;
  }
}

export interface ScheduleView {
  scheduleId: string;
  runbook: string;
  env: string;
  when: string;
  createdBy?: string;
  paused: boolean;
  nextRuns: string[];
  recentFirings: { at: string; launcher: string }[];
}

/** The schedules that start runbooks (others in the namespace are left out). */
export async function listSchedules(client: Client): Promise<ScheduleView[]> {
  const views: ScheduleView[] = [];
  for await (const s of client.schedule.list()) {
    const memo = s.memo as Partial<Record<'runbook' | 'env' | 'when' | 'createdBy', string>> | undefined;
    if (s.action?.workflowType !== SCHEDULED_RUN_WORKFLOW || !memo?.runbook) continue;
    views.push({
      scheduleId: s.scheduleId,
      runbook: memo.runbook,
      env: memo.env ?? '?',
      when: memo.when ?? '?',
      createdBy: memo.createdBy,
      paused: s.state.paused,
      nextRuns: s.info.nextActionTimes.slice(0, 3).map((d) => d.toISOString()),
      recentFirings: s.info.recentActions
        .slice(-5)
        .map((a) => ({ at: a.takenAt.toISOString(), launcher: a.action.workflow.workflowId })),
    });
  }
  return views.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}

export async function deleteSchedule(client: Client, id: string): Promise<void> {
  await withSchedule(id, () => client.schedule.getHandle(id).delete());
}

/** Fires the schedule now, under its own overlap policy (skip while its previous run is going). */
export async function triggerSchedule(client: Client, id: string): Promise<ScheduleOverlapPolicy> {
  const handle = client.schedule.getHandle(id);
  const { policies } = await withSchedule(id, () => handle.describe());
  // Without an explicit policy a trigger would allow overlaps.
  const overlap = policies.overlap ?? ScheduleOverlapPolicy.SKIP;
  await withSchedule(id, () => handle.trigger(overlap));
  return overlap;
}

export async function describeSchedule(client: Client, id: string): Promise<ScheduleDescription> {
  return withSchedule(id, () => client.schedule.getHandle(id).describe());
}

async function withSchedule<T>(id: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError || (err as { code?: number }).code === 5)
      throw new UsageError(`no schedule ${id}`);
    throw err;
  }
}

function isInvalidArgument(err: unknown): boolean {
  const e = err as { code?: number; cause?: { code?: number } };
  return e?.code === 3 || e?.cause?.code === 3;
}
