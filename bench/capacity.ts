// Capacity: N concurrent runs that wait at an approval gate, then are approved, on one worker:
// start-to-gate latency (p50, p99), the worker's memory per waiting run, and the throughput of
// completed runs. `npm run bench -- capacity` runs it on the bench's dev server (the baseline)
// and on the cluster of `npm run cluster` (brought up when it is down), side by side, each
// cluster figure also as a ratio of the dev server's.
import { Client, Connection, type TLSConfig, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { approvalSignal, type RunResult } from '../common/shared';
import { cluster, clusterConnection, clusterRunning } from '../dev/cluster';
import { dataConverter } from '../src/codec/data-converter';
import * as activities from './activities';

const RUNS = Number(process.env.RUNBOOK_BENCH_RUNS ?? 200);

export interface Capacity {
  runs: number;
  startToGateP50: number;
  startToGateP99: number;
  bytesPerWaitingRun: number;
  completedPerSecond: number;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** `as`: the worker's and the client's connection options where the server tells them apart (the cluster). */
export async function capacity(
  address: string,
  as?: { worker: { tls?: TLSConfig }; operator: { tls?: TLSConfig } },
): Promise<Capacity> {
  const connection = await NativeConnection.connect({ address, ...as?.worker });
  const client = new Client({
    connection: await Connection.connect({ address, ...as?.operator }),
    dataConverter: dataConverter(),
  });
  const taskQueue = `bench-capacity-${Date.now()}`;
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: require.resolve('./workflows'),
    activities,
    dataConverter: dataConverter(),
  });
  try {
    return await worker.runUntil(async () => {
      // Warm the worker (bundle loaded, caches made) with one run, then measure from there.
      await runAll(client, taskQueue, 1);
      global.gc!();
      const before = process.memoryUsage().rss;
      const started: number[] = [];
      const handles: WorkflowHandle[] = [];
      for (let i = 0; i < RUNS; i++) {
        started.push(Date.now());
        handles.push(
          await client.workflow.start('gateBench', { taskQueue, workflowId: `${taskQueue}-${i}`, args: [input()] }),
        );
      }
      const gated = await untilAllAtGate(client, taskQueue, RUNS);
      global.gc!();
      const waitingRss = process.memoryUsage().rss;
      const t0 = Date.now();
      await Promise.all(handles.map((h) => h.signal(approvalSignal, { approver: 'alice', decision: 'approve' })));
      const results = (await Promise.all(handles.map((h) => h.result()))) as RunResult[];
      const seconds = (Date.now() - t0) / 1000;
      const toGate = results.map((r, i) => Date.parse(r.progress.gates[0].openedAt) - started[i]);
      if (!gated || results.some((r) => r.state !== 'COMPLETED'))
        throw new Error('not every run waited at its gate and completed');
      return {
        runs: RUNS,
        startToGateP50: percentile(toGate, 50),
        startToGateP99: percentile(toGate, 99),
        bytesPerWaitingRun: Math.max(0, waitingRss - before) / RUNS,
        completedPerSecond: RUNS / seconds,
      };
    });
  } finally {
    await client.connection.close();
    await connection.close();
  }
}

function input() {
  return {
    runbook: 'gate-bench',
    // Its rules: the worker decides them from the inventory (alice approves; the gate waits 1 h).
    env: 'local',
    params: {},
    initiator: 'bench',
  };
}

async function runAll(client: Client, taskQueue: string, n: number): Promise<void> {
  const hs = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      client.workflow.start('gateBench', { taskQueue, workflowId: `${taskQueue}-warm-${i}`, args: [input()] }),
    ),
  );
  await untilAllAtGate(client, taskQueue, n);
  await Promise.all(hs.map((h) => h.signal(approvalSignal, { approver: 'alice', decision: 'approve' })));
  await Promise.all(hs.map((h) => h.result()));
}

/** Visibility says how many of the queue's runs wait at their gate. */
async function untilAllAtGate(client: Client, taskQueue: string, n: number): Promise<boolean> {
  const deadline = Date.now() + 300_000;
  const query = `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running' AND RunbookState = 'WAITING_APPROVAL'`;
  while (Date.now() < deadline) {
    if ((await client.workflow.count(query)).count >= n) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

const ratio = (cluster: number, dev: number) => `${(cluster / Math.max(dev, 1e-9)).toFixed(2)}x`;

function printCapacity(dev: Capacity, onCluster: Capacity): void {
  console.log(`capacity: ${RUNS} concurrent runs waiting at a gate, then approved (one worker)`);
  console.log(
    `  ${'server'.padEnd(32)} ${'start→gate p50'.padStart(15)} ${'p99'.padStart(9)} ` +
      `${'worker KiB/waiting run'.padStart(23)} ${'completed/s'.padStart(12)}`,
  );
  const row = (name: string, p50: string, p99: string, kib: string, perSecond: string) =>
    console.log(
      `  ${name.padEnd(32)} ${p50.padStart(15)} ${p99.padStart(9)} ${kib.padStart(23)} ${perSecond.padStart(12)}`,
    );
  for (const [name, c] of [
    ['dev server (SQLite, baseline)', dev],
    ['cluster (PostgreSQL, 4 shards)', onCluster],
  ] as const)
    row(
      name,
      `${c.startToGateP50} ms`,
      `${c.startToGateP99} ms`,
      (c.bytesPerWaitingRun / 1024).toFixed(0),
      c.completedPerSecond.toFixed(1),
    );
  row(
    'cluster / dev server',
    ratio(onCluster.startToGateP50, dev.startToGateP50),
    ratio(onCluster.startToGateP99, dev.startToGateP99),
    ratio(onCluster.bytesPerWaitingRun, dev.bytesPerWaitingRun),
    ratio(onCluster.completedPerSecond, dev.completedPerSecond),
  );
}

/** On the bench's dev server (`devAddress`), then on the cluster, brought up if it was down. */
export async function capacityBench(devAddress: string): Promise<void> {
  if (!global.gc) throw new Error('the capacity bench measures memory after a GC: run node with --expose-gc');
  const dev = await capacity(devAddress);
  const wasUp = clusterRunning();
  if (!wasUp) await cluster(['up']);
  try {
    const operator = clusterConnection('operator');
    printCapacity(dev, await capacity(operator.address, { worker: clusterConnection('worker'), operator }));
  } finally {
    if (!wasUp) await cluster(['down']);
  }
}
