// `npm run demo`: the product's main job on one machine. Starts (or reuses) the local Temporal
// dev server, runs a worker, starts the smoke runbook and leaves it waiting at its approval
// gate, with the Web UI address and the two ways to approve it.
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { projectRoot, taskQueue, temporalConnectConfig } from '../src/config';
import { isServing, startDevServer, type DevServer } from './dev-server';
import { connectClient, connectWorker, firstLine } from '../src/temporal';
import { prepareRun, startRun, type PreparedRun } from '../src/start';
import { workerOptions } from '../worker/worker-options';
import { codecForLocalUi, type UiCodec } from '../src/codec/local-codec-server';
import { runUrl } from '../cli/output';
import type { RunResult } from '../common/shared';

async function main(): Promise<number> {
  // The demo prints what a person needs; the worker's own chatter would bury it.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const { values } = parseArgs({ options: { env: { type: 'string', default: 'local' }, 'exit-when-done': { type: 'boolean' } } });
  const run = prepareRun({ runbook: 'smoke', env: values.env!, params: {}, initiator: process.env.RUNBOOK_USER || 'demo-operator' });

  const { connectionOptions } = temporalConnectConfig();
  let server: DevServer | undefined;
  let codec: UiCodec | undefined;
  if (!(await isServing(connectionOptions.address!))) {
    if (process.env.TEMPORAL_ADDRESS) throw new Error(`no Temporal server answers at ${connectionOptions.address}`);
    console.log('starting the Temporal dev server (data in .temporal/dev.db)...');
    codec = await codecForLocalUi('http://127.0.0.1:8233');
    server = await startDevServer({
      port: 7233,
      uiPort: 8233,
      dbFile: path.join(projectRoot, '.temporal', 'dev.db'),
      logFile: path.join(projectRoot, '.temporal', 'server.log'),
      codecEndpoint: codec.endpoint,
    });
    process.env.RUNBOOK_UI_URL ??= server.uiUrl;
    console.log(codec.note);
  }

  const { connection, namespace } = await connectWorker();
  const worker = await Worker.create({ connection, namespace, ...workerOptions() });
  const client = await connectClient();
  const running = worker.run();
  try {
    const code = await follow(client, run, namespace);
    if (!values['exit-when-done'] && process.stdin.isTTY) {
      console.log('The server and worker keep running so you can look around; Ctrl-C stops them.');
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
    return code;
  } finally {
    worker.shutdown();
    await running;
    await client.connection.close();
    await connection.close();
    await server?.stop();
    await codec?.server?.close();
  }
}

async function follow(client: Client, run: PreparedRun, namespace: string): Promise<number> {
  const { handle, admission } = await startRun(client, run, taskQueue());
  if (!admission.admitted) {
    console.log(`refused: ${admission.reason} (npm run runbook -- status ${admission.heldBy})`);
    return 1;
  }
  const approver = run.input.approval.approvers.find((a) => a !== run.input.initiator) ?? 'alice';
  // Exactly what the Web UI (2.42) asks for, in the order it asks (test/web-ui.test.ts follows it).
  console.log(`
started ${run.runId}: ${run.spec.description}
It now waits at the approval gate "go-ahead". Approve it:
  in the Web UI: ${runUrl(namespace, run.runId)}
    "More Actions" (top right) > "Send a Signal", signal name: approval, data:
    {"approver": "${approver}", "decision": "approve", "comment": "looks good"}
    then "Submit"
  or in a terminal: npm run runbook -- approve ${run.runId} --as ${approver}
(reject with "decision": "reject", or: npm run runbook -- reject ${run.runId} --as ${approver} --comment why)
Follow it: npm run runbook -- watch ${run.runId}    Its audit trail: npm run runbook -- history ${run.runId}
`);
  try {
    const result = (await handle.result()) as RunResult;
    console.log(`${run.runId}: ${result.state}`);
    return 0;
  } catch (err) {
    console.log(`${run.runId}: ${firstLine(err instanceof WorkflowFailedError ? err.cause : err)}`);
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
