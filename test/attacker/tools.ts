// What an attacker with Temporal access has besides the stock CLI (./stock-cli.ts): a worker of
// their own on a task queue of their own running workflows of their own (./workflows.ts).
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { dataConverter, failureConverterPath } from '../../src/codec/data-converter';

const silent = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m) };

/**
 * Runs `fn` while the attacker's worker polls `taskQueue` with the attacker's workflows. The
 * attacker holds the codec key ring, as every operator does.
 */
export async function withAttackerWorker<T>(
  taskQueue: string,
  fn: () => Promise<T>,
  activities: Record<string, (...args: never[]) => Promise<unknown>> = {},
): Promise<T> {
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  try {
    const workflowBundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('./workflows'),
      failureConverterPath,
      logger: silent,
    });
    const worker = await Worker.create({
      connection,
      taskQueue,
      workflowBundle,
      activities,
      dataConverter: dataConverter(),
    });
    return await worker.runUntil(fn);
  } finally {
    await connection.close();
  }
}
