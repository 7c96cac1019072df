// What each test tier needs before its first test, and the undoing of it after the last:
// every tier a private state directory and the test inventories; the workflow tier a Temporal
// dev server (with the Web UI's codec server); the test-bed tier the machine's test bed too.
import { makeSealKey } from '../worker/seal';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { ALLOW_PLAINTEXT_PROTECTED, projectRoot } from '../src/config';
import { freePort, startDevServer } from '../dev/dev-server';
import { codecForLocalUi } from '../src/codec/local-codec-server';
import { createKeysFile } from '../src/codec/keys';
import { freshTestbed, testbedDown } from './testbed';
import { leaseTestbed } from './testbed-lease';

type Undo = () => Promise<void> | void;
const undos: Undo[] = [];

/** A private state directory (codec keys, bundles) and the test inventories. No I/O beyond a temp dir. */
export function setUpState(): void {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-test-'));
  process.env.RUNBOOK_STATE_DIR = stateDir;
  // The suite's key ring, named as a team names theirs: every worker and CLI it starts shares it.
  process.env.RUNBOOK_CODEC_KEYS = path.join(stateDir, 'codec-keys.json');
  createKeysFile(process.env.RUNBOOK_CODEC_KEYS);
  // The workers' seal key, made once for the suite as an install makes it (worker/seal.ts).
  makeSealKey();
  process.env.RUNBOOK_INVENTORY_DIR = [
    path.join(projectRoot, 'test', 'fixtures', 'inventory'),
    path.join(projectRoot, 'inventory'),
  ].join(':');
  undos.push(() => fs.rmSync(stateDir, { recursive: true, force: true }));
}

/** One real Temporal dev server for the tier, its Web UI decoding through a codec server. */
export async function startServer(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  // The Web UI decodes through a codec server, as `npm run server` and the demo set it up: without
  // one it cannot read the runs' encrypted payloads (nor list a workflow's signals).
  const uiPort = await freePort();
  process.env.RUNBOOK_CODEC_PORT = String(await freePort());
  const codec = await codecForLocalUi(`http://127.0.0.1:${uiPort}`);
  undos.push(async () => void (await codec.server?.close()));
  const logFile = path.join(process.env.RUNBOOK_STATE_DIR!, 'temporal-server.log');
  const server = await startDevServer({ uiPort, logFile, codecEndpoint: codec.endpoint });
  undos.push(() => server.stop());
  process.env.TEMPORAL_ADDRESS = server.address;
  process.env.TEMPORAL_NAMESPACE = 'default';
  // The dev server has no TLS: workers of this tier (in-process and spawned) may still act on the
  // test inventories' protected environments (activities/policy.ts, src/config.ts plaintextRefusal).
  process.env[ALLOW_PLAINTEXT_PROTECTED] = '1';
  process.env.RUNBOOK_UI_URL = server.uiUrl;
}

/**
 * The machine's test bed, fresh: tests deploy and migrate. Held under the machine-wide lease;
 * a bed that was up before the tier is left up after it.
 */
export async function takeTestbed(): Promise<void> {
  const lease = await leaseTestbed();
  undos.push(() => lease.release());
  if (freshTestbed()) undos.push(() => testbedDown());
}

/** Undoes what the set-up did, newest first, also after a failed set-up. */
export async function tearDown(before: Undo[] = []): Promise<void> {
  for (const undo of before) await undo();
  while (undos.length) await undos.pop()!();
}
