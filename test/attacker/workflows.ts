// The attacker's own workflows, run by the attacker's own worker on a task queue of its own:
// they schedule the engine's activities, or start the engine's batches, on the engine's task
// queue, with arguments of the attacker's choosing. Each returns what happened: 'ran', or the
// type of the failure that stopped it.
import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  executeChild,
  proxyActivities,
} from '@temporalio/workflow';

type AnyActivities = Record<string, (...args: unknown[]) => Promise<unknown>>;

function failureType(err: unknown): string {
  let e: unknown = err;
  while (e instanceof ActivityFailure || e instanceof ChildWorkflowFailure) e = e.cause;
  return e instanceof ApplicationFailure ? (e.type ?? 'ApplicationFailure') : String(e);
}

/** Schedules each named activity on `taskQueue` with `args`, all at once. */
export async function scheduleEngineActivities(req: {
  taskQueue: string;
  activities: string[];
  args: unknown[];
}): Promise<Record<string, string>> {
  const engine = proxyActivities<AnyActivities>({
    taskQueue: req.taskQueue,
    startToCloseTimeout: '30 seconds',
    retry: { maximumAttempts: 1 },
  });
  const outcomes: Record<string, string> = {};
  await Promise.all(
    req.activities.map(async (name) => {
      try {
        await engine[name](...req.args);
        outcomes[name] = 'ran';
      } catch (err) {
        outcomes[name] = failureType(err);
      }
    }),
  );
  return outcomes;
}

/** Starts a workflow of the engine's type as this workflow's child, on the engine's queue. */
export async function startEngineChild(req: {
  taskQueue: string;
  type: string;
  workflowId: string;
  input: unknown;
}): Promise<{ outcome: string; result?: unknown }> {
  try {
    const result = await executeChild(req.type, {
      taskQueue: req.taskQueue,
      workflowId: req.workflowId,
      args: [req.input],
    });
    return { outcome: 'ran', result };
  } catch (err) {
    return { outcome: failureType(err) };
  }
}

/**
 * A run of the attacker's own named `backup`, on the attacker's queue: its "dumpToStore" is an
 * activity of the attacker's worker, and its result a checksum of the attacker's choosing.
 */
export async function backup(forged: { name: string; sha256: string }): Promise<void> {
  const own = proxyActivities<AnyActivities>({ startToCloseTimeout: '10 seconds' });
  await own.dumpToStore(forged);
}
