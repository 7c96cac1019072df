// What a lost worker costs a step: two worker processes poll; the one running a step is
// SIGKILLed mid-step, and the figure is the time from its death to the step's next attempt
// starting on the other worker. Every runbook step is scheduled with the liveness heartbeat
// timeout (LIVENESS_TIMEOUT); the baseline, measured beside it in the same run, is the same step
// with the one-minute heartbeat timeout steps had before that.
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { dataConverter, failureConverterPath } from '../src/codec/data-converter';
import { WorkerPool, workerRunningAStep } from '../test/cluster/worker-pool';
import { LIVENESS_TIMEOUT } from '../workflows/kernel/activities';

const BASELINE_TIMEOUT = '1 minute';
/** Longer than the baseline's timeout, shorter than the step's start-to-close timeout (5 minutes). */
const HOLD_MS = 4 * 60_000;

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m) };

export async function lostWorkerBench(address: string): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-bench-lost-'));
  const client = new Client({ connection: await Connection.connect({ address }), dataConverter: dataConverter() });
  try {
    const bundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('./workflows'),
      failureConverterPath,
      logger: quiet,
    });
    const bundleFile = path.join(dir, 'workflow-bundle.js');
    fs.writeFileSync(bundleFile, bundle.code);
    // Side by side, each on its own task queue and workers: one minute, not two.
    const [liveness, baseline] = await Promise.all(
      [LIVENESS_TIMEOUT, BASELINE_TIMEOUT].map((timeout) => retriedAfter(client, address, bundleFile, timeout)),
    );
    console.log('lost worker (the worker running a step SIGKILLed; another worker process polls the task queue)');
    console.log(`  next attempt started after:  ${liveness.toFixed(1)} s  (heartbeat timeout ${LIVENESS_TIMEOUT})`);
    const why = `heartbeat timeout ${BASELINE_TIMEOUT}, as steps had before`;
    console.log(`  baseline, same run:          ${baseline.toFixed(1)} s  (${why})`);
    console.log(
      `  a lost worker costs ${(liveness / baseline).toFixed(2)}x the baseline (target: seconds, not minutes)`,
    );
  } finally {
    await client.connection.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Seconds from the SIGKILL of the worker running the step to its next attempt's start. */
async function retriedAfter(client: Client, address: string, bundleFile: string, heartbeatTimeout: string) {
  const taskQueue = `bench-lost-${randomUUID().slice(0, 8)}`;
  const pool = new WorkerPool(
    taskQueue,
    { TEMPORAL_ADDRESS: address },
    { entry: ['bench', 'lost-worker-main.js'], bundleFile },
  );
  try {
    await pool.start(2);
    const handle = await client.workflow.start('lostWorkerBench', {
      taskQueue,
      workflowId: taskQueue,
      args: [{ heartbeatTimeout, holdMs: HOLD_MS }],
    });
    const deadline = Date.now() + 60_000;
    while (!pool.killed.length) {
      if (Date.now() > deadline) throw new Error(`${taskQueue}: the step never started on a worker of ours`);
      const running = await workerRunningAStep(handle, pool);
      if (running) await pool.killAndReplace('holding the step', running.pid);
      else await new Promise((r) => setTimeout(r, 20));
    }
    const result = (await handle.result()) as { attempt: number; startedAt: number; pid: number };
    const [killed] = pool.killed;
    if (result.attempt !== 2 || result.pid === killed.pid)
      throw new Error(`${taskQueue}: expected attempt 2 on another worker, got ${JSON.stringify(result)}`);
    return (result.startedAt - killed.at) / 1000;
  } finally {
    await pool.stop();
  }
}
