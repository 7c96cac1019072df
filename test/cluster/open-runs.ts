// Runs a test leaves open (it failed halfway; the suite was killed) keep their environments'
// locks in the cluster's database, which outlives the suite: later runs on those environments
// would be refused as long as it lasts. They are ended: a test's own in its `finally`, and at
// the suite's start whatever earlier suites left on the tests' task queues (uniqueQueue's
// "test-" names; nothing else on the cluster is touched).
import type { Client, WorkflowHandle } from '@temporalio/client';
import { testClient } from '../helpers';

const REASON = 'ended by the cluster tests: left open by a test that did not finish';

/**
 * Terminates those of `handles` still running (a terminated holder's lock ends with it), as an
 * admin: on the cluster only an admin's certificate may terminate.
 */
export async function endOpenRuns(handles: WorkflowHandle[]): Promise<void> {
  const admin = await testClient('admin');
  await Promise.all(
    handles.map(async (started) => {
      const h = admin.workflow.getHandle(started.workflowId);
      const { status } = await h.describe().catch(() => ({ status: { name: 'UNKNOWN' } }));
      if (status.name === 'RUNNING') await h.terminate(REASON).catch(() => undefined);
    }),
  );
}

/** Terminates every running workflow on a test task queue; returns how many. `client`: an admin's. */
export async function endLeftoverTestRuns(client: Client): Promise<number> {
  const leftovers: WorkflowHandle[] = [];
  for await (const run of client.workflow.list({ query: 'ExecutionStatus = "Running"' })) {
    if (run.taskQueue.startsWith('test-')) leftovers.push(client.workflow.getHandle(run.workflowId, run.runId));
  }
  await endOpenRuns(leftovers);
  return leftovers.length;
}
