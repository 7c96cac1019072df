// Questions for Temporal itself, asked from the worker.
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { connectClient } from '../src/temporal';
import { environmentLockId } from '../src/shared';

let client: Promise<Client> | undefined;

/** The run holding an environment: the parent of its lock workflow. */
export async function lockHolder({ env }: { env: string }): Promise<string> {
  client ??= connectClient();
  const description = await (await client).workflow.getHandle(environmentLockId(env)).describe();
  const holder = description.parentExecution?.workflowId;
  if (!holder) throw ApplicationFailure.retryable(`the lock of ${env} has no holder recorded`);
  return holder;
}
