// Questions for Temporal itself, asked from the worker.
import { ApplicationFailure } from '@temporalio/common';
import { environmentLockId } from '../common/shared';
import { temporalClient } from './temporal-client';

/** The run holding an environment: the parent of its lock workflow. */
export async function lockHolder({ env }: { env: string }): Promise<string> {
  const description = await (await temporalClient()).workflow.getHandle(environmentLockId(env)).describe();
  const holder = description.parentExecution?.workflowId;
  if (!holder) throw ApplicationFailure.retryable(`the lock of ${env} has no holder recorded`);
  return holder;
}
