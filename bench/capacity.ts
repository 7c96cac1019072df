// Capacity: N concurrent runs that wait at an approval gate, then are approved, on one worker:
// start-to-gate latency (p50, p99), the worker's memory per waiting run, and the throughput of
// completed runs. `npm run bench:capacity` runs it on a dev server and on the cluster of
// `npm run cluster` (brought up when it is down), side by side.
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { approvalSignal, type RunResult } from '../common/shared';
import { cluster, clusterAddress, clusterRunning } from '../dev/cluster';
import { startDevServer } from '../dev/dev-server';
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

export async function capacity(address: string): Promise<Capacity> {
  const connection = await NativeConnection.connect({ address });
  const client = new Client({ connection: await Connection.connect({ address }), dataConverter: dataConverter() });
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
      global.gc?.();
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
      global.gc?.();
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
    env: 'bench',
    params: {},
    initiator: 'bench',
    approval: { required: 1, approvers: ['alice'], timeoutMs: 3_600_000 },
    mutating: false,
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

export function printCapacity(rows: [string, Capacity][]): void {
  console.log(`capacity: ${RUNS} concurrent runs waiting at a gate, then approved (one worker)`);
  console.log(
    `  ${'server'.padEnd(32)} ${'start→gate p50'.padStart(15)} ${'p99'.padStart(9)} ` +
      `${'worker KiB/waiting run'.padStart(23)} ${'completed/s'.padStart(12)}`,
  );
  for (const [name, c] of rows) {
    console.log(
      `  ${name.padEnd(32)} ${`${c.startToGateP50} ms`.padStart(15)} ${`${c.startToGateP99} ms`.padStart(9)} ` +
        `${(c.bytesPerWaitingRun / 1024).toFixed(0).padStart(23)} ${c.completedPerSecond.toFixed(1).padStart(12)}`,
    );
  }
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const rows: [string, Capacity][] = [];
  const dev = await startDevServer();
  try {
    rows.push(['dev server (SQLite)', await capacity(dev.address)]);
  } finally {
    await dev.stop();
  }
  const wasUp = clusterRunning();
  if (!wasUp) await cluster(['up']);
  try {
    rows.push(['cluster (PostgreSQL, 4 shards)', await capacity(clusterAddress())]);
  } finally {
    if (!wasUp) await cluster(['down']);
  }
  printCapacity(rows);
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
