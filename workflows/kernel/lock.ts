// One mutating run per environment. The lock is a child workflow with a fixed id per
// environment: Temporal refuses a second one while it runs, atomically, and ends it if the
// holding run dies for any reason.
import {
  CancellationScope,
  condition,
  ParentClosePolicy,
  startChild,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type * as activities from '../../activities';
import { environmentLockId } from '../../common/shared';
import { stepActivities } from './activities';

const { lockHolder } = stepActivities<typeof activities>({ startToCloseTimeout: '30 seconds' });

export type Hold = { release(): Promise<void> } | { heldBy: string };

export async function holdEnvironment(env: string): Promise<Hold> {
  // Shielded from the run's own cancellation: the lock is kept while undos run.
  return CancellationScope.nonCancellable(async () => {
    const scope = new CancellationScope();
    try {
      const lock = await scope.run(() =>
        startChild(environmentLock, {
          workflowId: environmentLockId(env),
          args: [{ env }],
          parentClosePolicy: ParentClosePolicy.TERMINATE,
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        }),
      );
      const ended = scope.run(() => lock.result()).catch(() => undefined);
      return {
        release: async () => {
          scope.cancel();
          await ended;
        },
      };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return { heldBy: await lockHolder({ env }) };
      throw err;
    }
  });
}

/** Holds an environment until its run cancels it (or ends, which terminates it). */
export async function environmentLock(_input: { env: string }): Promise<void> {
  await condition(() => false);
}
