// The real worker entry (dist/worker/main.js) as a child process, for tests that kill it;
// `testActivities` runs test/worker-main.js instead: the same entry with the test-only activities.
// `entry` and `bundleFile` run another entry and workflow bundle (the bench's).
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { projectRoot } from '../src/config';
import { temporal } from '@temporalio/proto';
import { identityEnv, testClient, workflowBundleFile } from './helpers';

export interface WorkerProcess {
  /** Its pid: a worker's Temporal identity is `pid@hostname`, so a test can kill the one running a step. */
  pid: number;
  kill(signal: NodeJS.Signals): Promise<void>;
  exitCode(): number | null;
  output(): string;
  /** Its standard output alone: the worker's log. */
  stdout(): string;
}

export interface WorkerProcessOptions {
  testActivities?: boolean;
  /** The entry under dist/, e.g. ['bench', 'lost-worker-main.js']. */
  entry?: string[];
  /** A prebuilt workflow bundle for that entry. */
  bundleFile?: string;
  /**
   * Started once the task queue has a poller, not once it says so: a worker logging at WARN
   * or above says nothing when it starts.
   */
  quiet?: boolean;
}

/** `env` adds to the test's own environment (e.g. another TEMPORAL_ADDRESS) and a worker's identity. */
export async function startWorkerProcess(
  taskQueue: string,
  env: Record<string, string> = {},
  options: WorkerProcessOptions = {},
): Promise<WorkerProcess> {
  const entry = options.entry ?? (options.testActivities ? ['test', 'worker-main.js'] : ['worker', 'main.js']);
  const bundle = options.bundleFile ?? (await workflowBundleFile());
  const child = spawn(process.execPath, ['--enable-source-maps', path.join(projectRoot, 'dist', ...entry)], {
    env: {
      ...process.env,
      ...identityEnv('worker'),
      ...env,
      RUNBOOK_TASK_QUEUE: taskQueue,
      RUNBOOK_WORKFLOW_BUNDLE: bundle,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stdout = '';
  child.stdout.on('data', (d) => {
    output += d;
    stdout += d;
  });
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  const started = options.quiet ? () => polled(taskQueue) : async () => output.includes('worker polling');
  while (!(await started())) {
    if (child.exitCode !== null) throw new Error(`worker exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) throw new Error(`worker did not start within 60s:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid!,
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
    exitCode: () => child.exitCode,
    output: () => output,
    stdout: () => stdout,
  };
}

/** Whether a worker polls `taskQueue` for workflow tasks. */
async function polled(taskQueue: string): Promise<boolean> {
  const client = await testClient();
  const { pollers } = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return (pollers?.length ?? 0) > 0;
}
