// Connections to Temporal for the CLI and the worker, with errors an operator can act on.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { dataConverter } from './codec/data-converter';
import { temporalConnectConfig } from './config';
import { ConnectionError } from './errors';

export async function connectClient(): Promise<Client> {
  // The key ring first: without one, nothing this client would send could be opened by a worker.
  const converter = dataConverter();
  const { connectionOptions, namespace } = temporalConnectConfig();
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...connectionOptions, connectTimeout: 5000 });
  } catch (err) {
    throw new ConnectionError(
      `cannot reach Temporal at ${connectionOptions.address} (${firstLine(err)}); ` +
        `is the server running? (npm run server, or set TEMPORAL_ADDRESS)`,
    );
  }
  // Everything the CLI writes into a run (inputs, approvals) is sealed by the payload codec.
  return new Client({ connection, namespace, dataConverter: converter });
}

export async function connectWorker(): Promise<{ connection: NativeConnection; namespace: string }> {
  const { connectionOptions, namespace } = temporalConnectConfig();
  try {
    return { connection: await NativeConnection.connect(connectionOptions), namespace };
  } catch (err) {
    throw new ConnectionError(
      `cannot reach Temporal at ${connectionOptions.address} (${firstLine(err)}); ` +
        `is the server running? (npm run server, or set TEMPORAL_ADDRESS)`,
    );
  }
}

export function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0];
}
