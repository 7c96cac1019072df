// The workflow tier's fixture: a dev server, no test bed (activities are stubs).
import { closeTestClient } from './helpers';
import { setUpState, startServer, tearDown } from './tier-fixtures';

export async function mochaGlobalSetup(): Promise<void> {
  setUpState();
  await startServer();
}

export async function mochaGlobalTeardown(): Promise<void> {
  await tearDown([closeTestClient]);
}
