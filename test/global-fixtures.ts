// The test-bed tier's fixture (and the default one, so `mocha dist/test/x.bed.test.js` runs any
// test file): a dev server and the test bed for the whole run, stopped after the last test,
// also when tests fail. The fast and workflow tiers have lighter ones (test/*-fixture.ts).
import { closeMasters } from '../activities/ssh/openssh';
import { pool } from '../activities/ssh/pool';
import { closeTestClient } from './helpers';
import { setUpState, startServer, takeTestbed, tearDown } from './tier-fixtures';

// After a failed test, the runs it left open are ended: their locks would fail the tests after it.
export { mochaHooks } from './leftover-runs';

export async function mochaGlobalSetup(): Promise<void> {
  // mocha runs no teardown after a failed set-up: undo here, or the dev server it started
  // keeps the process (and CI) waiting forever.
  try {
    setUpState();
    await startServer();
    await takeTestbed();
  } catch (error) {
    await tearDown();
    throw error;
  }
}

export async function mochaGlobalTeardown(): Promise<void> {
  await tearDown([closeTestClient, () => pool.closeAll(), closeMasters]);
}
