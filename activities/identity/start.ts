// Who started a run, proven: in a signed environment the run's first step checks the
// initiator's signature over the run id, runbook, environment and parameters. A refused start
// changes nothing and holds nothing.
import { ScheduleNotFoundError, type Client, type ScheduleDescription } from '@temporalio/client';
import { ApplicationFailure, defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { msToTs, tsToMs } from '@temporalio/common/lib/time';
import type { temporal } from '@temporalio/proto';
import { FailureType } from '../../common/failure-types';
import { InventoryError, loadEnvironment } from '../../src/inventory';
import { startSubject, type IdentityMode, type Signed } from '../../common/signed-message';
import type { Cosign, RunProgress } from '../../common/shared';
import { scheduleNonce, scheduleSubject } from '../../src/schedules';
import { temporalClient } from '../temporal-client';
import { verifySignature } from './verify';

export interface StartToProve {
  namespace: string;
  /** The workflow id (the run id people use) and Temporal's id of this execution of it. */
  runId: string;
  executionId: string;
  runbook: string;
  env: string;
  params: Record<string, unknown>;
  initiator: string;
  proof?: Signed;
  /** The schedule whose creation `proof` signed, for a run a schedule fired; its launcher is `parent`. */
  schedule?: string;
  /** A second approver's signature over that schedule (`runbook schedule approve`). */
  cosign?: Cosign;
  parent?: { workflowId: string; runId: string };
  /** When the signature must have been good: the run's start, for a check made later in the run. */
  atMs?: number;
}

export type StartIdentity =
  | { mode: IdentityMode; key?: string; scheduled?: NonNullable<RunProgress['scheduled']> }
  | { mode: 'signed'; refused: string };

export async function proveStart(start: StartToProve): Promise<StartIdentity> {
  let mode: IdentityMode;
  try {
    mode = loadEnvironment(start.env).identity;
  } catch (err) {
    if (err instanceof InventoryError) throw ApplicationFailure.nonRetryable(err.message, FailureType.BadInventory);
    throw err;
  }
  if (mode === 'typed') return { mode };
  const command = `runbook start ${start.runbook} --env ${start.env} --as <you>`;
  const how = `start it with \`${command}\`, which signs with your SSH key`;
  if (!start.proof?.signature) return { mode, refused: `${start.env} takes signed starts only: ${how}` };
  if (start.schedule !== undefined) return proveScheduled(start, start.schedule, how);
  const claim = {
    namespace: start.namespace,
    runId: start.runId,
    action: 'start' as const,
    gate: '',
    nonce: start.runId,
    by: start.initiator,
    subject: startSubject(start.runbook, start.env, start.params),
    comment: '',
    expires: String(start.proof.expires),
  };
  const verified = await verifySignature({
    claim,
    signature: start.proof.signature,
    ...(start.atMs !== undefined ? { atMs: start.atMs } : {}),
  });
  if (!verified.ok) return { mode, refused: `start refused: ${verified.refused}; ${how}` };
  // The run id is in the signature, and Temporal lets a closed run's id be used again: a second
  // execution under this id would be the same signature used twice.
  if (await earlierExecution(start)) {
    return { mode, refused: `start refused: ${start.runId} already ran; this signature was used` };
  }
  return { mode, key: verified.key };
}

const SCHEDULED_BY = defineSearchAttributeKey('TemporalScheduledById', SearchAttributeType.KEYWORD);

/**
 * A run a signed schedule fired: its creator signed the schedule (id, runbook, environment,
 * parameters) before it was created, and this run's launcher was started by that schedule
 * (Temporal sets TemporalScheduledById; a client cannot).
 */
async function proveScheduled(start: StartToProve, schedule: string, how: string): Promise<StartIdentity> {
  const refuse = (why: string): StartIdentity => ({ mode: 'signed', refused: `start refused: ${why}; ${how}` });
  if (!start.parent) return refuse(`it claims schedule ${schedule} but no schedule started it`);
  const client = await temporalClient();
  const launcher = await client.workflow.getHandle(start.parent.workflowId, start.parent.runId).describe();
  if (launcher.typedSearchAttributes.get(SCHEDULED_BY) !== schedule) {
    return refuse(`it claims schedule ${schedule} but was not started by it`);
  }
  let description: ScheduleDescription;
  try {
    description = await client.schedule.getHandle(schedule).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return refuse(`schedule ${schedule} no longer exists`);
    throw err;
  }
  const createdAt = description.info.createdAt;
  const claim = {
    namespace: start.namespace,
    runId: schedule,
    action: 'schedule' as const,
    gate: '',
    nonce: schedule,
    by: start.initiator,
    subject: startSubject(start.runbook, start.env, start.params),
    comment: '',
    expires: String(start.proof?.expires),
  };
  // The signature had to be good when the schedule was created, not at every firing.
  const signature = String(start.proof?.signature);
  const verified = await verifySignature({ claim, signature, atMs: createdAt.getTime() });
  if (!verified.ok) return refuse(`schedule ${schedule}: ${verified.refused}`);
  // A reset makes another execution of the same run: the timetable fired the first one only.
  const firing = (await firedBySpec(client, description, start.parent)) && !(await earlierExecution(start));
  const scheduled: NonNullable<RunProgress['scheduled']> = { schedule, firing: firing ? 'spec' : 'manual' };
  if (start.cosign) {
    const cosigned = await proveCosign(start, description, verified.key);
    if ('refused' in cosigned) scheduled.cosignRefused = cosigned.refused;
    else Object.assign(scheduled, { cosignedBy: start.cosign.by, cosignKey: cosigned.key });
  }
  return { mode: 'signed', key: verified.key, scheduled };
}

/**
 * Four eyes over a schedule: a second person, an approver of the environment, signed it as it
 * stands now (runbook, parameters, timetable, policies), with another key than its creator's,
 * for this schedule (its creation time) and not one deleted and made again under its id.
 */
async function proveCosign(
  start: StartToProve,
  d: ScheduleDescription,
  creatorKey: string,
): Promise<{ key: string } | { refused: string }> {
  const cosign = start.cosign!;
  const by = String(cosign.by);
  if (by === start.initiator) return { refused: `${by} created the schedule and cannot also co-sign it (four eyes)` };
  const approvers = loadEnvironment(start.env).approvals.approvers;
  if (!approvers.includes(by)) return { refused: `${by} is not an approver for ${start.env}` };
  const claim = {
    namespace: start.namespace,
    runId: d.scheduleId,
    action: 'cosign' as const,
    gate: '',
    nonce: scheduleNonce(d),
    by,
    subject: scheduleSubject(d),
    comment: '',
    expires: String(cosign.expires),
  };
  // Judged when the schedule last changed (the co-signature's own update): any later change to
  // the schedule leaves it expired, and nobody can move that time back.
  const atMs = (d.info.lastUpdatedAt ?? d.info.createdAt).getTime();
  const verified = await verifySignature({ claim, signature: String(cosign.signature), atMs });
  if (!verified.ok) return { refused: `co-signature: ${verified.refused}` };
  if (verified.key === creatorKey)
    return { refused: `the key ${verified.key} created the schedule and cannot also co-sign it (four eyes)` };
  return { key: verified.key };
}

/**
 * Whether the schedule's own timetable fired this launcher, rather than a person (`temporal
 * schedule trigger`, a backfill): its action's time is one the spec matches (Temporal's
 * ListScheduleMatchingTimes), taken within the catch-up window, after the schedule's last change
 * (its co-signature), and the only action at that time.
 */
async function firedBySpec(
  client: Client,
  d: ScheduleDescription,
  launcher: { workflowId: string; runId: string },
): Promise<boolean> {
  let schedule = d;
  // The scheduler records its action just after starting the launcher: asked again briefly.
  for (let attempt = 0; ; attempt++) {
    const actions = schedule.info.recentActions;
    const mine = actions.find(
      (a) =>
        a.action.workflow.workflowId === launcher.workflowId &&
        a.action.workflow.firstExecutionRunId === launcher.runId,
    );
    if (mine) {
      const at = mine.scheduledAt.getTime();
      if (actions.some((a) => a !== mine && a.scheduledAt.getTime() === at)) return false;
      if (at < (schedule.info.lastUpdatedAt ?? schedule.info.createdAt).getTime()) return false;
      if (mine.takenAt.getTime() - at > (schedule.policies.catchupWindow ?? 60_000)) return false;
      const matching: temporal.api.workflowservice.v1.IListScheduleMatchingTimesResponse =
        await client.workflowService.listScheduleMatchingTimes({
          namespace: client.options.namespace,
          scheduleId: schedule.scheduleId,
          startTime: msToTs(at - 1000),
          endTime: msToTs(at + 1000),
        });
      return (matching.startTime ?? []).some((t) => tsToMs(t) === at);
    }
    if (attempt >= 10) return false;
    await new Promise((r) => setTimeout(r, 500));
    schedule = await client.schedule.getHandle(d.scheduleId).describe();
  }
}

async function earlierExecution(start: StartToProve): Promise<boolean> {
  const client = await temporalClient();
  for await (const wf of client.workflow.list({ query: `WorkflowId = '${start.runId.replace(/'/g, '')}'` })) {
    if (wf.runId !== start.executionId) return true;
  }
  return false;
}
