// The cluster suite's global fixture: the PostgreSQL-backed Temporal cluster of `npm run cluster`
// (brought up here when it was down, and taken down again after), and a fresh test bed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { pool } from '../../activities/ssh/pool';
import { cluster, clusterAddress, clusterRunning } from '../../dev/cluster';
import { projectRoot } from '../../src/config';
import { freshTestbed, testbedDown } from '../testbed';
import { leaseTestbed, type TestbedLease } from '../testbed-lease';
import { closeTestClient } from '../helpers';

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
  process.env.RUNBOOK_INVENTORY_DIR = [
    path.join(projectRoot, 'test', 'fixtures', 'inventory'),
    path.join(projectRoot, 'inventory'),
  ].join(':');
  if (!clusterRunning()) {
    // The first time on a machine this builds the server from source (see README, "A real Temporal cluster").
    await cluster(['up']);
    clusterStartedHere = true;
  }
  process.env.TEMPORAL_ADDRESS = clusterAddress();
  process.env.TEMPORAL_NAMESPACE = 'default';
  lease = await leaseTestbed();
  testbedStartedHere = freshTestbed();
}

export async function mochaGlobalTeardown(): Promise<void> {
  await closeTestClient();
  await pool.closeAll();
  if (testbedStartedHere) testbedDown();
  await lease?.release();
  if (clusterStartedHere) await cluster(['down']);
  if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
}
