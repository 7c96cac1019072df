// Questions for Temporal itself, asked from the worker: who holds an environment's lock, and
// whether a release the lock heard came from that holder.
import { Context } from '@temporalio/activity';
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { environmentLockId } from '../common/shared';
import { isRunbookWorkflow } from './policy';
import { temporalClient } from './temporal-client';

/**
 * The run holding an environment: the parent of its lock workflow. A workflow under the lock's
 * id that is not a lock of this engine (another type, another task queue, no parent, a parent
 * that is not a running runbook of ours) holds nothing: it is terminated, and the answer says
 * what was cleared, so the run can take the lock.
 */
export async function lockHolder({ env }: { env: string }): Promise<string | { cleared: string }> {
  const client = await temporalClient();
  const handle = client.workflow.getHandle(environmentLockId(env));
  const lock = await handle.describe();
  const squatter = await notALock(client, lock, Context.current().info.taskQueue);
  if (squatter) {
    console.warn(`environment lock of ${env}: ${squatter}; terminating it`);
    await handle
      .terminate(`not a lock of this engine: ${squatter}`)
      .catch((err: unknown) => (err instanceof WorkflowNotFoundError ? undefined : Promise.reject(err)));
    return { cleared: squatter };
  }
  const holder = lock.parentExecution?.workflowId;
  if (!holder) throw ApplicationFailure.retryable(`the lock of ${env} has no holder recorded`);
  return holder;
}

/** Why a running workflow under a lock's id is not a lock this engine took; undefined if it is one. */
async function notALock(
  client: Client,
  lock: WorkflowExecutionDescription,
  queue: string,
): Promise<string | undefined> {
  if (lock.status.name !== 'RUNNING') return undefined;
  const what = `${show(lock.type)} on task queue ${show(lock.taskQueue)}`;
  if (lock.type !== 'environmentLock' || lock.taskQueue !== queue) return `${lock.workflowId} is a ${what}`;
  if (!lock.parentExecution) return `${lock.workflowId} was started on its own, by no run`;
  const { workflowId, runId } = lock.parentExecution;
  const parent = await client.workflow
    .getHandle(String(workflowId), runId ?? undefined)
    .describe()
    .catch(() => undefined);
  if (!parent || parent.status.name !== 'RUNNING') return `${lock.workflowId}'s run ${workflowId} is not running`;
  if (!isRunbookWorkflow(parent.type) || parent.taskQueue !== queue)
    return `${lock.workflowId} was started by a ${show(parent.type)} on ${show(parent.taskQueue)}`;
  return undefined;
}

/**
 * Whether the lock calling this (its own execution, from the activity's context) was sent
 * `release` by the run holding it. A signal's handler cannot see its sender; the history can:
 * Temporal records which execution signalled, when a workflow did.
 */
export async function releasedByHolder(): Promise<{ byHolder: boolean; others: number }> {
  const { workflowExecution } = Context.current().info;
  if (!workflowExecution) throw ApplicationFailure.nonRetryable('not called by a workflow');
  const client = await temporalClient();
  const history = await client.workflow.getHandle(workflowExecution.workflowId, workflowExecution.runId).fetchHistory();
  const events = history.events ?? [];
  const parent = events[0]?.workflowExecutionStartedEventAttributes?.parentWorkflowExecution;
  let byHolder = false;
  let others = 0;
  for (const ev of events) {
    const signal = ev.workflowExecutionSignaledEventAttributes;
    if (signal?.signalName !== 'release') continue;
    const from = signal.externalWorkflowExecution;
    if (parent && from && from.workflowId === parent.workflowId && from.runId === parent.runId) byHolder = true;
    else others++;
  }
  if (others) console.warn(`${workflowExecution.workflowId}: ${others} release(s) not sent by its run, ignored`);
  return { byHolder, others };
}

function show(value: unknown): string {
  return JSON.stringify(String(value).slice(0, 100));
}
