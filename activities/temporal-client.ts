// The worker's own Temporal client, for activities that ask Temporal about other runs. Not an
// activity itself, so it is not exported from activities/index.ts.
import type { Client } from '@temporalio/client';
import { connectClient } from '../src/temporal';

let client: Promise<Client> | undefined;

export function temporalClient(): Promise<Client> {
  client ??= connectClient().catch((err) => {
    client = undefined;
    throw err;
  });
  return client;
}
