// What an attacker with Temporal access has: the stock `temporal` CLI, and a worker of their
// own on a task queue of their own running workflows of their own (./workflows.ts).
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { projectRoot } from '../../src/config';
import { dataConverter, failureConverterPath } from '../../src/codec/data-converter';

/** The stock `temporal` CLI against the tier's server: its exit code and output. */
export function temporalCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const full = [
    path.join(projectRoot, 'scripts', 'temporal-cli.sh'),
    ...args,
    '--address',
    process.env.TEMPORAL_ADDRESS!,
    '--namespace',
    'default',
  ];
  return new Promise((resolve) =>
    execFile('bash', full, { encoding: 'utf8' }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

/** `temporal workflow start` with a hand-written JSON input: plain payloads, no codec, no CLI of ours. */
export async function temporalStart(
  taskQueue: string,
  type: string,
  workflowId: string,
  input: unknown,
): Promise<string> {
  const args = ['workflow', 'start', '--task-queue', taskQueue, '--type', type, '--workflow-id', workflowId];
  const ran = await temporalCli([...args, '--input', JSON.stringify(input)]);
  if (ran.code !== 0) throw new Error(`temporal workflow start exited ${ran.code}\n${ran.stderr}`);
  return ran.stdout;
}

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
