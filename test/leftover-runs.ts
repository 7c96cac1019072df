// A test that fails half-way can leave its run open, holding its environment's lock: every later
// test on that environment is then refused ("local is held by ..."), and one failure reads as
// ten. After a failed test, the runs it started and left open are ended, and their locks with them.
import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { environmentLockId } from '../common/shared';

interface Started {
  handle: WorkflowHandle;
  env: string;
}

/** Runs started since the current test began (runs of `before` hooks are shared: not tracked). */
const started: Started[] = [];

export function trackRun(handle: WorkflowHandle, env: string): void {
  started.push({ handle, env });
}

async function isOpen(handle: WorkflowHandle): Promise<boolean> {
  try {
    return (await handle.describe()).status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** The lock ends with its run (parent close policy); the server applies that a moment later. */
async function lockReleased(run: WorkflowHandle, env: string): Promise<void> {
  const lock = run.client.getHandle(environmentLockId(env));
  for (let i = 0; i < 100 && (await isOpen(lock)); i++) {
    const parent = (await lock.describe()).parentExecution?.workflowId;
    if (parent !== run.workflowId) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function endLeftOpen(test: string): Promise<void> {
  for (const { handle, env } of started.splice(0)) {
    if (!(await isOpen(handle))) continue;
    await handle.terminate(`the test "${test}" failed with this run open`);
    await lockReleased(handle, env);
    console.error(`    (ended ${handle.workflowId}, left open by the failed test)`);
  }
}

export const mochaHooks = {
  beforeEach(): void {
    started.length = 0;
  },
  async afterEach(this: Mocha.Context): Promise<void> {
    const test = this.currentTest;
    if (test?.state === 'failed') await endLeftOpen(test.title);
    started.length = 0;
  },
};
