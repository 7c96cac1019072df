// Who started a run, proven: in a signed environment the run's first step checks the
// initiator's signature over the run id, runbook, environment and parameters. A refused start
// changes nothing and holds nothing.
import { ScheduleNotFoundError } from '@temporalio/client';
import { ApplicationFailure, defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { FailureType } from '../../common/failure-types';
import { InventoryError, loadEnvironment } from '../../src/inventory';
import { startSubject, type IdentityMode, type Signed } from '../../common/signed-message';
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
  parent?: { workflowId: string; runId: string };
  /** When the signature must have been good: the run's start, for a check made later in the run. */
  atMs?: number;
}

export type StartIdentity = { mode: IdentityMode; key?: string } | { mode: 'signed'; refused: string };

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
  let createdAt: Date;
  try {
    createdAt = (await client.schedule.getHandle(schedule).describe()).info.createdAt;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return refuse(`schedule ${schedule} no longer exists`);
    throw err;
  }
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
  return { mode: 'signed', key: verified.key };
}

async function earlierExecution(start: StartToProve): Promise<boolean> {
  const client = await temporalClient();
  for await (const wf of client.workflow.list({ query: `WorkflowId = '${start.runId.replace(/'/g, '')}'` })) {
    if (wf.runId !== start.executionId) return true;
  }
  return false;
}
