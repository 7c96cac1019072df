// The cluster suite's global fixture: the PostgreSQL-backed Temporal cluster of `npm run cluster`
// (brought up here when it was down, and taken down again after, also after a failed set-up),
// and a fresh test bed, both under the test bed's lease.
import { makeSealKey } from '../../worker/seal';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { pool } from '../../activities/ssh/pool';
import { cluster, clusterAddress, clusterEnv, clusterRunning } from '../../dev/cluster';
import { projectRoot } from '../../src/config';
import { createKeysFile } from '../../src/codec/keys';
import { freshTestbed, testbedDown } from '../testbed';
import { leaseTestbed, type TestbedLease } from '../testbed-lease';
import { closeTestClient, testClient } from '../helpers';
import { endLeftoverTestRuns } from './open-runs';

let stateDir: string | undefined;
let clusterStartedHere = false;
let testbedStartedHere = false;
let lease: TestbedLease | undefined;

export async function mochaGlobalSetup(): Promise<void> {
  // mocha runs no teardown after a failed set-up: undo here, or what started keeps the process waiting.
  try {
    await setUp();
  } catch (error) {
    await mochaGlobalTeardown();
    throw error;
  }
}

async function setUp(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-cluster-test-'));
  process.env.RUNBOOK_STATE_DIR = stateDir;
  process.env.RUNBOOK_CODEC_KEYS = path.join(stateDir, 'codec-keys.json');
  createKeysFile(process.env.RUNBOOK_CODEC_KEYS);
  // The workers' seal key, made once for the suite as an install makes it (worker/seal.ts).
  makeSealKey();
  process.env.RUNBOOK_INVENTORY_DIR = [
    path.join(projectRoot, 'test', 'fixtures', 'inventory'),
    path.join(projectRoot, 'inventory'),
  ].join(':');
  // The cluster's ports are machine-wide, as the bed is: the lease keeps both to one suite at a time.
  lease = await leaseTestbed();
  if (!clusterRunning()) {
    // Down again at the end, also when `up` fails halfway (PostgreSQL started, the server not).
    clusterStartedHere = true;
    // The first time on a machine this builds the server from source (docs/operations.md, "A real Temporal cluster").
    await cluster(['up']);
  }
  process.env.TEMPORAL_ADDRESS = clusterAddress();
  process.env.TEMPORAL_NAMESPACE = 'default';
  // Authorization is on: each connection shows a certificate. The tests' own processes (the
  // runbook CLI) are an operator's; workers (test/worker-process.ts, withWorker) take the
  // worker's, and what terminates runs the admin's (test/helpers.ts identityEnv).
  const identities = { operator: clusterEnv('operator'), worker: clusterEnv('worker'), admin: clusterEnv('admin') };
  process.env.RUNBOOK_TEST_IDENTITIES = JSON.stringify(identities);
  Object.assign(process.env, identities.operator);
  const ended = await endLeftoverTestRuns(await testClient('admin'));
  if (ended) console.error(`ended ${ended} run(s) an earlier cluster suite left open`);
  testbedStartedHere = freshTestbed();
}

export async function mochaGlobalTeardown(): Promise<void> {
  try {
    await closeTestClient();
    await pool.closeAll();
    if (testbedStartedHere) testbedDown();
    if (clusterStartedHere) await cluster(['down']);
  } finally {
    await lease?.release();
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  }
}
