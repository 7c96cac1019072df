// One mutating run per environment. The lock is a child workflow with a fixed id per
// environment: Temporal refuses a second one while it runs, atomically, and ends it if the
// holding run dies for any reason. Released, it ends Completed (a signal it waits for), so the
// Web UI's list does not fill with cancelled locks; runs from before that cancelled it.
// Anyone with Temporal access can signal it, so a release counts only when the lock's history
// shows its holder sent it; a workflow squatting the lock's id is cleared (activities/temporal.ts).
import {
  CancellationScope,
  condition,
  defineSignal,
  ParentClosePolicy,
  patched,
  setHandler,
  startChild,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type * as activities from '../../activities';
import { environmentLockId } from '../../common/shared';
import { stepActivities } from './activities';

const { lockHolder, releasedByHolder } = stepActivities<typeof activities>({ startToCloseTimeout: '30 seconds' });

export type Hold = Held | { heldBy: string };

export interface Held {
  release(): Promise<void>;
  /** Whether the lock ended while the run still held it (terminated or cancelled by someone). */
  lost(): boolean;
}

/** Tells the lock its run is done with the environment: it returns, ending Completed. */
export const releaseLockSignal = defineSignal('release');

export async function holdEnvironment(env: string): Promise<Hold> {
  // Shielded from the run's own cancellation: the lock is kept while undos run.
  return CancellationScope.nonCancellable(async () => {
    const first = await tryHold(env);
    if (!('cleared' in first)) return first;
    // Runs recorded before squatters were cleared never came here (lockHolder named a holder).
    if (patched('lock-squatter-cleared')) {
      const again = await tryHold(env);
      if (!('cleared' in again)) return again;
    }
    return { heldBy: `no run: ${first.cleared} (cleared; start the run again)` };
  });
}

async function tryHold(env: string): Promise<Hold | { cleared: string }> {
  {
    let releasing = false;
    let lostEarly = false;
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
      void ended.then(() => (lostEarly = !releasing));
      return {
        lost: () => lostEarly,
        // Also called while the run itself is cancelled: the release must still go out.
        release: () =>
          CancellationScope.nonCancellable(async () => {
            releasing = true;
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
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      const holder = await lockHolder({ env });
      return typeof holder === 'string' ? { heldBy: holder } : holder;
    }
  }
}

/** Holds an environment until its run releases it (or ends, which terminates it; older runs cancel it). */
export async function environmentLock(_input: { env: string }): Promise<void> {
  // Started by hand it would hold the environment for no run: it ends at once instead.
  if (!workflowInfo().parent) return;
  let releases = 0;
  setHandler(releaseLockSignal, () => void releases++);
  const checked = patched('lock-release-by-holder');
  for (let seen = 0; ;) {
    await condition(() => releases > seen);
    if (!checked) return;
    seen = releases;
    if ((await releasedByHolder()).byHolder) return;
  }
}
