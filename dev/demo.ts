// `npm run demo`: the product's main job on one machine. Starts (or reuses) the local Temporal
// dev server with its Web UI and codec server, runs a worker, starts the smoke runbook and
// leaves it waiting at its approval gate, with the Web UI address and the two ways to approve
// it. Once the run ends it prints the outcome and keeps everything up, so the approver who
// just clicked Submit sees the completed run; Ctrl-C (or SIGTERM) stops all it started.
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ALLOW_PLAINTEXT_PROTECTED, localDevServer, taskQueue, temporalConnectConfig } from '../src/config';
import { isServing, startDevServer, type DevServer } from './dev-server';
import { connectClient, connectWorker, firstLine } from '../src/temporal';
import { prepareRun, startRun, type PreparedRun } from '../src/start';
import { workerOptions } from '../worker/worker-options';
import { codecForLocalUi, type UiCodec } from '../src/codec/local-codec-server';
import { runsUrl, runUrl } from '../cli/output';
import { closeWithin } from './close-within';
import type { RunResult } from '../common/shared';

/** Resolves on the first Ctrl-C or SIGTERM, whatever the demo is doing then. */
const stopRequested = new Promise<string>((resolve) => {
  process.once('SIGINT', () => resolve('Ctrl-C'));
  process.once('SIGTERM', () => resolve('SIGTERM'));
});

async function main(): Promise<number> {
  // The demo prints what a person needs; the worker's own chatter would bury it.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const { values } = parseArgs({
    options: { env: { type: 'string', default: 'local' }, 'exit-when-done': { type: 'boolean' } },
  });
  const run = prepareRun({
    runbook: 'smoke',
    env: values.env!,
    params: {},
    initiator: process.env.RUNBOOK_USER || 'demo-operator',
  });

  const local = localDevServer();
  let server: DevServer | undefined;
  let codec: UiCodec | undefined;
  const stopAll = async (): Promise<void> => {
    await server?.stop();
    await codec?.server?.close();
  };
  // Nothing configured (TEMPORAL_ADDRESS, a profile): the local dev server, started if need be.
  const configured = temporalConnectConfig().connectionOptions.address!;
  const ours = !process.env.TEMPORAL_ADDRESS && configured === 'localhost:7233';
  const address = ours ? `127.0.0.1:${local.port}` : configured;
  process.env.TEMPORAL_ADDRESS = address;
  // The local dev server has no TLS: its demo worker may act on a protected --env all the same.
  if (ours) process.env[ALLOW_PLAINTEXT_PROTECTED] ??= '1';
  if (!(await isServing(address))) {
    if (!ours) throw new Error(`no Temporal server answers at ${address}`);
    console.log(`starting the Temporal dev server (data in ${path.join(local.dataDir, 'dev.db')})...`);
    const uiUrl = `http://127.0.0.1:${local.uiPort}`;
    codec = await codecForLocalUi(uiUrl);
    try {
      server = await startDevServer({
        port: local.port,
        uiPort: local.uiPort,
        dbFile: path.join(local.dataDir, 'dev.db'),
        logFile: path.join(local.dataDir, 'server.log'),
        codecEndpoint: codec.endpoint,
      });
    } catch (err) {
      await stopAll();
      throw err;
    }
    process.env.RUNBOOK_UI_URL ??= server.uiUrl;
    console.log(`Web UI on ${server.uiUrl}; ${codec.note}`);
    // The demo lives and dies with the server it started: a worker polling a dead server would
    // only retry, holding the codec server's port.
    const started = codec;
    void server.died.then(async (how) => {
      console.error(`demo: the Temporal dev server ${how}: stopping (see ${path.join(local.dataDir, 'server.log')})`);
      await closeWithin(started.server, 2000);
      process.exit(1);
    });
  }

  const { connection, namespace } = await connectWorker();
  const worker = await Worker.create({ connection, namespace, ...workerOptions() });
  const client = await connectClient();
  const running = worker.run();
  let stoppedBy: string | undefined;
  const stopping = stopRequested.then((by) => (stoppedBy = by));
  try {
    const code = await Promise.race([follow(client, run, namespace), stopping.then(() => 130)]);
    if (stoppedBy === undefined && !values['exit-when-done']) {
      const what = server ? 'The dev server, the codec server, the Web UI and the worker keep' : 'The worker keeps';
      console.log(`${what} running so you can look at the run; Ctrl-C stops them.`);
      await stopping;
    }
    return code;
  } finally {
    if (stoppedBy)
      console.log(
        `\n${stoppedBy}: stopping the worker${server ? ', the Web UI, the codec server and the dev server' : ''}...`,
      );
    // The SDK's runtime starts draining the worker on Ctrl-C by itself.
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
    await client.connection.close();
    await connection.close();
    await stopAll();
    if (stoppedBy) console.log('stopped.');
  }
}

async function follow(client: Client, run: PreparedRun, namespace: string): Promise<number> {
  const { handle, admission } = await startRun(client, run, taskQueue());
  if (!admission.admitted) {
    console.log(
      `refused: ${admission.reason}${admission.heldBy ? ` (npm run runbook -- status ${admission.heldBy})` : ''}`,
    );
    return 1;
  }
  const approver = run.policy.applied.approval.approvers.find((a) => a !== run.input.initiator) ?? 'alice';
  const address = runUrl(namespace, run.runId);
  // Exactly what the Web UI (2.42) asks for, in the order it asks (test/web-ui.bed.test.ts follows it).
  console.log(`
started ${run.runId}: ${run.spec.description}
It now waits at the approval gate "go-ahead". Approve it:
  in the Web UI: ${address}
    "More Actions" (top right) > "Send a Signal", signal name: approval, data:
    {"approver": "${approver}", "decision": "approve", "comment": "looks good"}
    then "Submit"
  or in a terminal: npm run runbook -- approve ${run.runId} --as ${approver}
(reject with "decision": "reject", or: npm run runbook -- reject ${run.runId} --as ${approver} --comment why)
Follow it: npm run runbook -- watch ${run.runId}    Its audit trail: npm run runbook -- history ${run.runId}
All runs in the Web UI (runs only, not environment locks): ${runsUrl(namespace)}
`);
  try {
    const result = (await handle.result()) as RunResult;
    console.log(`${run.runId}: ${result.state}\n  the run and its result: ${address}`);
    return 0;
  } catch (err) {
    console.log(
      `${run.runId}: ${firstLine(err instanceof WorkflowFailedError ? err.cause : err)}\n  the run: ${address}`,
    );
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`demo: ${firstLine(err)}`);
    process.exit((err as { exitCode?: number }).exitCode ?? 1);
  },
);
