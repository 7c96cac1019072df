// What Temporal recorded about a backup: the sha256 the run that made it computed as the dump
// passed through the worker, kept in that run's history (the result of its dumpToStore step).
// The store host keeps a checksum file and a manifest beside each dump, but whoever controls
// the store can forge those with the dump; only our worker writes a dumpToStore result, so this
// is the checksum a restore trusts: read from runs on the engine's task queue only (the queue
// the asking activity came from). Not an activity (not in activities/index.ts).
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { parseBackupName } from '../common/backup-names';
import { FailureType } from '../common/failure-types';
import { temporalClient } from './temporal-client';

/** The workflows whose code dumps to the store (the backup itself, and the safety backups). */
const DUMPING_WORKFLOWS = ['backup', 'restore', 'restorePrevious'];
const DUMP_ACTIVITY = 'dumpToStore';
/** A run that made a backup was open at the instant its name carries (to the second). */
const SLACK_MS = 60_000;
/** Runs of one environment open at one instant: a handful; more than this is not looked at. */
const MAX_CANDIDATES = 50;

export interface RecordedBackup {
  sha256: string;
  /** The run whose history holds it. */
  runId: string;
}

/**
 * The sha256 recorded for backup `name` of `env` by the run that made it, or undefined when
 * Temporal keeps no such run (a backup made by hand, or older than the namespace's retention).
 * Two runs recording different checksums for one name is refused: one of them cannot be ours.
 */
export async function recordedBackup(
  env: string,
  name: string,
  client?: Client,
  taskQueue: string = Context.current().info.taskQueue,
): Promise<RecordedBackup | undefined> {
  const parsed = parseBackupName(name);
  if (!parsed || parsed.env !== env) return undefined;
  const c = client ?? (await temporalClient());
  const from = new Date(parsed.at.getTime() - SLACK_MS).toISOString();
  const to = new Date(parsed.at.getTime() + 1000 + SLACK_MS).toISOString();
  const types = DUMPING_WORKFLOWS.map((t) => `'${t}'`).join(', ');
  // Only the engine's own runs on its own task queue: a run named `backup` on a queue of
  // someone else's, run by their worker, could "record" any checksum.
  const query =
    `WorkflowType IN (${types}) AND TaskQueue = '${taskQueue.replace(/'/g, '')}' AND RunbookEnv = '${env}'` +
    ` AND StartTime <= '${to}'` +
    ` AND (ExecutionStatus = 'Running' OR CloseTime >= '${from}')`;
  const found: RecordedBackup[] = [];
  let seen = 0;
  for await (const run of c.workflow.list({ query })) {
    if (++seen > MAX_CANDIDATES) break;
    const sha256 = await dumpedIn(c, run.workflowId, run.runId, name);
    if (sha256) found.push({ sha256, runId: run.workflowId });
  }
  const sums = new Set(found.map((f) => f.sha256));
  if (sums.size > 1)
    throw ApplicationFailure.nonRetryable(
      `backup ${name}: runs ${found.map((f) => f.runId).join(', ')} recorded different checksums; refusing to use it`,
      FailureType.CorruptBackup,
    );
  return found[0];
}

/** The sha256 a completed dumpToStore of `name` returned in this run, if it has one. */
async function dumpedIn(c: Client, workflowId: string, runId: string, name: string): Promise<string | undefined> {
  const history = await c.workflow.getHandle(workflowId, runId).fetchHistory();
  const dumps = new Set<string>();
  for (const ev of history.events ?? []) {
    const scheduled = ev.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name === DUMP_ACTIVITY) dumps.add(String(ev.eventId));
    const completed = ev.activityTaskCompletedEventAttributes;
    if (!completed || !dumps.has(String(completed.scheduledEventId))) continue;
    const [result] = await decodeArrayFromPayloads(
      c.options.loadedDataConverter,
      completed.result?.payloads ?? [],
    ).catch(() => [undefined]);
    const made = result as { name?: unknown; sha256?: unknown } | undefined;
    if (made?.name === name && typeof made.sha256 === 'string' && /^[0-9a-f]{64}$/.test(made.sha256))
      return made.sha256;
  }
  return undefined;
}
