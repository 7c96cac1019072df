// One real Temporal dev server for the whole suite, started before the first test and stopped
// after the last, also when tests fail.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { projectRoot } from '../src/config';
import { freePort, startDevServer, type DevServer } from '../dev/dev-server';
import { codecForLocalUi, type UiCodec } from '../src/codec/local-codec-server';
import { freshTestbed, testbedDown } from './testbed';
import { leaseTestbed, type TestbedLease } from './testbed-lease';
import { pool } from '../activities/ssh/pool';
import { closeTestClient } from './helpers';

let server: DevServer | undefined;
let codec: UiCodec | undefined;
let stateDir: string | undefined;
let testbedStartedHere = false;
let lease: TestbedLease | undefined;

export async function mochaGlobalSetup(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-test-'));
  process.env.RUNBOOK_STATE_DIR = stateDir;
  process.env.RUNBOOK_INVENTORY_DIR = [path.join(projectRoot, 'test', 'fixtures', 'inventory'), path.join(projectRoot, 'inventory')].join(':');
  // The Web UI decodes through a codec server, as `npm run server` and the demo set it up: without
  // one it cannot read the runs' encrypted payloads (nor list a workflow's signals).
  const uiPort = await freePort();
  process.env.RUNBOOK_CODEC_PORT = String(await freePort());
  codec = await codecForLocalUi(`http://127.0.0.1:${uiPort}`);
  server = await startDevServer({ uiPort, logFile: path.join(stateDir, 'temporal-server.log'), codecEndpoint: codec.endpoint });
  process.env.TEMPORAL_ADDRESS = server.address;
  process.env.TEMPORAL_NAMESPACE = 'default';
  process.env.RUNBOOK_UI_URL = server.uiUrl;
  // Tests deploy and migrate, so each suite starts from a fresh bed; one that was up before
  // the suite is left up after it.
  lease = await leaseTestbed();
  testbedStartedHere = freshTestbed();
}

export async function mochaGlobalTeardown(): Promise<void> {
  await closeTestClient();
  await pool.closeAll();
  await server?.stop();
  await codec?.server?.close();
  if (testbedStartedHere) testbedDown();
  await lease?.release();
  if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
}
