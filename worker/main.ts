#!/usr/bin/env node
// The worker: runs every runbook and activity on one task queue until SIGINT or SIGTERM.
import { Worker, type WorkerOptions } from '@temporalio/worker';
import { pool } from '../activities/ssh/pool';
import { connectWorker } from '../src/temporal';
import { workerOptions } from './worker-options';

/** Runs a worker until SIGINT/SIGTERM. Tests run it with their own activities added. */
export async function runWorker(options: Omit<WorkerOptions, 'connection'> = workerOptions()): Promise<void> {
  const { connection, namespace } = await connectWorker();
  try {
    const worker = await Worker.create({ connection, namespace, ...options });
    console.log(`worker polling task queue ${worker.options.taskQueue} on ${namespace}`);
    // The SDK's runtime turns SIGINT/SIGTERM into a graceful worker.shutdown().
    await worker.run();
    console.log('worker stopped');
  } finally {
    await pool.closeAll();
    await connection.close();
  }
}

export function exitWhenDone(run: Promise<void>): void {
  run.then(() => process.exit(0), (err) => {
    console.error(`worker: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}

if (require.main === module) exitWhenDone(runWorker());
