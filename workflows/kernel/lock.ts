// One mutating run per environment. The lock is a child workflow with a fixed id per
// environment: Temporal refuses a second one while it runs, atomically, and ends it if the
// holding run dies for any reason. Released, it ends Completed (a signal it waits for), so the
// Web UI's list does not fill with cancelled locks; runs from before that cancelled it.
import {
  CancellationScope,
  condition,
  defineSignal,
  ParentClosePolicy,
  patched,
  setHandler,
  startChild,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type * as activities from '../../activities';
import { environmentLockId } from '../../common/shared';
import { stepActivities } from './activities';

const { lockHolder } = stepActivities<typeof activities>({ startToCloseTimeout: '30 seconds' });

export type Hold = { release(): Promise<void> } | { heldBy: string };

/** Tells the lock its run is done with the environment: it returns, ending Completed. */
export const releaseLockSignal = defineSignal('release');

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
        // Also called while the run itself is cancelled: the release must still go out.
        release: () =>
          CancellationScope.nonCancellable(async () => {
            if (patched('lock-release-signal')) {
              // A lock already gone (terminated by hand) has nothing to release.
              await lock.signal(releaseLockSignal).catch(() => scope.cancel());
            } else {
              scope.cancel();
            }
            await ended;
          }),
      };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return { heldBy: await lockHolder({ env }) };
      throw err;
    }
  });
}

/** Holds an environment until its run releases it (or ends, which terminates it; older runs cancel it). */
export async function environmentLock(_input: { env: string }): Promise<void> {
  let released = false;
  setHandler(releaseLockSignal, () => {
    released = true;
  });
  await condition(() => released);
}
