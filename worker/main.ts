#!/usr/bin/env node
// The worker: runs every runbook and activity on one task queue until SIGINT or SIGTERM.
import { loadSealKey } from './seal';
import { Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { closeMasters } from '../activities/ssh/openssh';
import { pool } from '../activities/ssh/pool';
import { connectClient, connectWorker } from '../src/temporal';
import { startGateGauges } from './gate-gauges';
import { startCutOffGauge } from './cut-off-gauge';
import { installTelemetry } from './telemetry';
import { workerOptions } from './worker-options';
import { payloadCodec } from '../src/codec/data-converter';

/** Runs a worker until SIGINT/SIGTERM. Tests run it with their own activities added. */
export async function runWorker(options?: Omit<WorkerOptions, 'connection'>): Promise<void> {
  // Before any connection: the runtime carries the Prometheus endpoint (RUNBOOK_METRICS_ADDRESS).
  const metrics = installTelemetry();
  // No key ring, no worker: it could open nothing sent to it, and seal what no one else can.
  payloadCodec();
  // No seal key, no worker: its verdicts would be refused by the others (./seal.ts).
  loadSealKey();
  const { connection, namespace } = await connectWorker();
  // The cut-off watch runs on every worker: besides its gauge, it tells people of runs ended from outside.
  const client = await connectClient();
  const chosen = options ?? workerOptions();
  const stopGauges = metrics ? startGateGauges(client, gaugeIntervalMs(), chosen.taskQueue) : undefined;
  const stopCutOff = startCutOffGauge(client, gaugeIntervalMs(), chosen.taskQueue);
  try {
    const worker = await Worker.create({ connection, namespace, ...chosen });
    const logger = Runtime.instance().logger;
    logger.info(`worker polling task queue ${worker.options.taskQueue} on ${namespace}`, {
      taskQueue: worker.options.taskQueue,
      namespace,
      ...(metrics ? { metrics: `http://${metrics}/metrics` } : {}),
    });
    // The SDK's runtime turns SIGINT/SIGTERM into a graceful worker.shutdown().
    await worker.run();
    logger.info('worker stopped');
  } finally {
    stopGauges?.();
    stopCutOff();
    await client.connection.close();
    await pool.closeAll();
    await closeMasters();
    await connection.close();
  }
}

/** RUNBOOK_METRICS_INTERVAL: seconds between readings of the gate gauges (default 30, 1 to 3600). */
function gaugeIntervalMs(): number {
  const raw = process.env.RUNBOOK_METRICS_INTERVAL ?? '30';
  const s = Number(raw);
  if (!Number.isFinite(s) || s < 1 || s > 3600)
    throw new Error(`RUNBOOK_METRICS_INTERVAL=${JSON.stringify(raw)}: want seconds from 1 to 3600`);
  return s * 1000;
}

export function exitWhenDone(run: Promise<void>): void {
  run.then(
    () => process.exit(0),
    (err) => {
      console.error(`worker: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}

if (require.main === module) exitWhenDone(runWorker());
