// The fast tier's fixture: a private state directory and the test inventories; no server, no
// test bed. A fast test that reaches for TEMPORAL_ADDRESS finds it unset and fails loudly.
import { setUpState, tearDown } from './tier-fixtures';

export function mochaGlobalSetup(): void {
  delete process.env.TEMPORAL_ADDRESS;
  setUpState();
}

export async function mochaGlobalTeardown(): Promise<void> {
  await tearDown();
}
