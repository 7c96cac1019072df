// The workflow tier's fixture: a dev server, no test bed (activities are stubs).
import { closeTestClient } from './helpers';
import { setUpState, startServer, tearDown } from './tier-fixtures';

// After a failed test, the runs it left open are ended: their locks would fail the tests after it.
export { mochaHooks } from './leftover-runs';

export async function mochaGlobalSetup(): Promise<void> {
  // mocha runs no teardown after a failed set-up: undo here, or the dev server it started
  // keeps the process (and CI) waiting forever.
  try {
    setUpState();
    await startServer();
  } catch (error) {
    await tearDown();
    throw error;
  }
}

export async function mochaGlobalTeardown(): Promise<void> {
  await tearDown([closeTestClient]);
}
