// What the tests share: the workflow bundle (built once per suite), a client, workers on
// per-test task queues, and ways to wait for a run to reach a point.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { Client, Connection, type TLSConfig, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { projectRoot, stateDir } from '../src/config';
import { tlsOptions } from '../dev/cluster';
import { prepareRun, startRun, type StartRequest } from '../src/start';
import { signStart } from '../src/identity/sign';
import { progressQuery, type RunProgress } from '../common/shared';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workerOptions } from '../worker/worker-options';
import { testActivities } from './activities';
import { dataConverter, failureConverterPath } from '../src/codec/data-converter';
import { trackRun } from './leftover-runs';
import './test-runbooks';

const silent = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m) };

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('./workflows'),
    failureConverterPath,
    logger: silent,
  });
  return bundle;
}

/** The suite's bundle as a file, so worker processes start without webpack, as production ones do. */
let bundleFile: Promise<string> | undefined;
export function workflowBundleFile(): Promise<string> {
  bundleFile ??= workflowBundle().then((b) => {
    const file = path.join(stateDir(), 'workflow-bundle.js');
    fs.writeFileSync(file, b.code);
    return file;
  });
  return bundleFile;
}

/** Who a test connects as, where the server tells them apart (the cluster's mTLS roles). */
export type Identity = 'operator' | 'worker' | 'admin';

/**
 * The TLS variables of `who` in a tier whose server authorizes by certificate (the cluster tier
 * sets RUNBOOK_TEST_IDENTITIES: `npm run cluster -- env --as` of each); none elsewhere.
 */
export function identityEnv(who: Identity): Record<string, string> {
  const all = process.env.RUNBOOK_TEST_IDENTITIES;
  return all ? (JSON.parse(all) as Record<Identity, Record<string, string>>)[who] : {};
}

/** Connection options (address, TLS) of `who` for the SDK's Connection and NativeConnection. */
export function connectionOptions(who: Identity): { address: string; tls?: TLSConfig } {
  return { address: process.env.TEMPORAL_ADDRESS!, tls: tlsOptions(identityEnv(who)) };
}

const clients = new Map<Identity, Client>();
/** A client of `who`, one per identity for the suite; an operator's by default (people start runs). */
export async function testClient(who: Identity = 'operator'): Promise<Client> {
  let client = clients.get(who);
  if (!client) {
    const connection = await Connection.connect(connectionOptions(who));
    client = new Client({ connection, dataConverter: dataConverter() });
    clients.set(who, client);
  }
  return client;
}

export async function closeTestClient(): Promise<void> {
  for (const c of clients.values()) await c.connection.close();
  clients.clear();
}

export function uniqueQueue(label: string): string {
  return `test-${label}-${randomUUID().slice(0, 8)}`;
}

/** Runs `fn` while an in-process worker polls `taskQueue` (with the test activities, or stubs). */
export async function withWorker<T>(
  taskQueue: string,
  fn: () => Promise<T>,
  activities: Parameters<typeof workerOptions>[1] = testActivities,
): Promise<T> {
  const connection = await NativeConnection.connect(connectionOptions('worker'));
  try {
    const options = workerOptions(await workflowBundle(), activities);
    const worker = await Worker.create({ connection, ...options, taskQueue });
    return await worker.runUntil(fn);
  } finally {
    await connection.close();
  }
}

export async function startTestRun(
  taskQueue: string,
  req: Partial<StartRequest> & { runbook: string; signWith?: string },
): Promise<WorkflowHandle> {
  const { signWith, ...rest } = req;
  const request = { env: 'test', params: {}, initiator: 'operator', ...rest };
  const run = prepareRun(request);
  // A signed environment's start, signed with the initiator's key file.
  if (signWith)
    run.input.proof = await signStart(run.input, run.runId, 'default', { as: request.initiator, key: signWith });
  const { handle, admission } = await startRun(await testClient(), run, taskQueue);
  trackRun(handle, request.env);
  if (!admission.admitted) throw new Error(`run refused: ${admission.reason}`);
  return handle;
}

/** Polls the progress query until `done` holds (the worker must be running). */
export async function waitForProgress(
  handle: WorkflowHandle,
  done: (p: RunProgress) => boolean,
  what = 'the expected progress',
): Promise<RunProgress> {
  const deadline = Date.now() + 60_000;
  let last: RunProgress | undefined;
  while (Date.now() < deadline) {
    try {
      last = await handle.query(progressQuery);
      if (done(last)) return last;
    } catch {
      // Not started yet, or no worker at the moment: ask again.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last progress: ${JSON.stringify(last)}`);
}

export const atGate = (gate: string) => (p: RunProgress) => p.gate?.name === gate;

export function smokeDir(env = 'test'): string {
  return path.join(stateDir(), 'smoke', env);
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The `runbook` command as a real process (never spawnSync: the in-process worker must keep running). */
export function runbookCli(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(projectRoot, 'dist', 'cli', 'main.js'), ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
