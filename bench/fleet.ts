// Fleets on the test bed's fleet (`testbed up --web 21`): a blue/green deploy to an idle colour
// of 1, 10 and 20 hosts in one batch (time against 1 host; goal ≤ 2x for 20), and run-command
// of /bin/true on 20 hosts against an OpenSSH ControlMaster per host driven by `xargs -P`, in
// the same run.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { stringify as stringifyYaml, parse as parseYaml } from 'yaml';
import { pool } from '../activities/ssh/pool';
import { restartApp } from '../activities/release';
import { setUpstream } from '../activities/upstream';
import { projectRoot } from '../src/config';
import type { Environment } from '../src/inventory';
import { prepareRun, startRun } from '../src/start';
import { workerOptions } from '../worker/worker-options';
import { dataConverter } from '../src/codec/data-converter';

const SIZES = [1, 10, 20];
const HOSTS = 21;
const web = (i: number) => `web-${String(i).padStart(2, '0')}`;

function testbed(...args: string[]): void {
  execFileSync('bash', [path.join(projectRoot, 'scripts', 'testbed', 'testbed.sh'), ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** Environment `bench-bg<n>`: web-01 blue (live), the next n hosts green. */
function colourInventory(dir: string, fleet: Environment, n: number): string {
  const env = structuredClone(fleet);
  const name = `bench-bg${n}`;
  env.environment = name;
  const keep = new Set([web(1), ...Array.from({ length: n }, (_, i) => web(i + 2))]);
  env.hosts = Object.fromEntries(
    Object.entries(fleet.hosts).filter(([h, v]) => !v.roles.includes('web') || keep.has(h)),
  );
  for (const h of keep) env.hosts[h].colour = h === web(1) ? 'blue' : 'green';
  for (const s of Object.values(env.services)) s.hosts = s.hosts.filter((h) => h in env.hosts);
  env.vars.fleetConcurrency = 20;
  fs.writeFileSync(path.join(dir, `${name}.yaml`), stringifyYaml(env));
  return name;
}

function xargsBaseline(fleet: Environment, hosts: string[]): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-'));
  if (!fleet.ssh.privateKey) throw new Error('the baseline logs in with a key file (ssh.privateKey)');
  const key = fleet.ssh.privateKey.replace('${RUNBOOK_CACHE_DIR}', process.env.RUNBOOK_CACHE_DIR ?? '');
  const known = fleet.ssh.knownHosts.replace('${RUNBOOK_CACHE_DIR}', process.env.RUNBOOK_CACHE_DIR ?? '');
  const addresses = hosts.map((h) => fleet.hosts[h].address).join('\n');
  const opts = [
    `-i ${key}`,
    `-o UserKnownHostsFile=${known}`,
    '-o StrictHostKeyChecking=yes',
    '-o BatchMode=yes',
    '-o ControlMaster=auto',
    `-o ControlPath=${dir}/%h`,
    '-o ControlPersist=60',
  ].join(' ');
  // Masters opened first, as the engine's pooled connections are after a first run.
  const script = [
    `echo "$1" | xargs -P 20 -I{} ssh ${opts} root@{} true`,
    's=$(date +%s%N)',
    `echo "$1" | xargs -P 10 -I{} ssh ${opts} root@{} /bin/true`,
    'e=$(date +%s%N)',
    `echo "$1" | xargs -I{} ssh ${opts} -O exit root@{} 2>/dev/null`,
    'echo $(( (e - s) / 1000000 ))',
  ].join('; ');
  const ran = spawnSync('bash', ['-c', script, 'bench', addresses], { encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true, force: true });
  if (ran.status !== 0) throw new Error(`xargs baseline failed: ${ran.stderr}`);
  return Number(ran.stdout.trim().split('\n').pop());
}

export async function fleetBench(address: string): Promise<void> {
  testbed('up', '--web', String(HOSTS));
  const stateDir = process.env.TESTBED_STATE_DIR || '/run/runbook-testbed';
  const fleet = parseYaml(fs.readFileSync(path.join(stateDir, 'inventory', 'fleet.yaml'), 'utf8')) as Environment;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-inventory-'));
  const previous = process.env.RUNBOOK_INVENTORY_DIR;
  process.env.RUNBOOK_INVENTORY_DIR = [dir, path.join(stateDir, 'inventory'), previous].filter(Boolean).join(':');
  const connection = await NativeConnection.connect({ address });
  const client = new Client({ connection: await Connection.connect({ address }), dataConverter: dataConverter() });
  const taskQueue = `bench-fleet-${Date.now()}`;
  const worker = await Worker.create({ connection, ...workerOptions(), taskQueue });
  const deploys: Record<number, number> = {};
  let command = 0;
  try {
    await worker.runUntil(async () => {
      for (const n of SIZES) {
        const env = colourInventory(dir, fleet, n);
        // From the same start each time: web-01 serving v1.0.0, every green host idle.
        await restartApp({ env, host: web(1) });
        await setUpstream({ env, hosts: [web(1)] });
        const run = prepareRun({
          runbook: 'deploy',
          env,
          params: { ref: n % 2 ? 'v1.1.0' : 'v1.0.0', 'rollback-window': '1ms' },
          initiator: 'bench',
        });
        const t0 = performance.now();
        const { handle } = await startRun(client, run, taskQueue);
        await handle.result();
        deploys[n] = performance.now() - t0;
      }
      const hosts = Array.from({ length: 20 }, (_, i) => web(i + 1));
      const params = { hosts: hosts.join(','), batch: '20', argv: ['/bin/true'] };
      // A first run opens the pooled connections, as the baseline's masters are opened first.
      for (const round of [0, 1]) {
        const run = prepareRun({ runbook: 'run-command', env: 'fleet', params, initiator: 'bench' });
        const t0 = performance.now();
        const { handle } = await startRun(client, run, taskQueue);
        await handle.result();
        if (round === 1) command = performance.now() - t0;
      }
    });
  } finally {
    await client.connection.close();
    await connection.close();
    await pool.closeAll();
    process.env.RUNBOOK_INVENTORY_DIR = previous;
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const baseline = xargsBaseline(
    fleet,
    Array.from({ length: 20 }, (_, i) => web(i + 1)),
  );
  testbed('up', '--web', '0');
  console.log('blue/green deploy to an idle colour of N hosts, one batch (fleetConcurrency 20)');
  for (const n of SIZES)
    console.log(
      `  ${String(n).padStart(2)} hosts: ${(deploys[n] / 1000).toFixed(2)} s  ` +
        `(${(deploys[n] / deploys[1]).toFixed(2)}x 1 host; goal ≤ 2x for 20)`,
    );
  console.log('run-command /bin/true on 20 hosts');
  console.log(`  through the engine (batch of 20, 10 at once): ${(command / 1000).toFixed(2)} s`);
  console.log(`  ssh ControlMaster + xargs -P 10 (baseline):  ${(baseline / 1000).toFixed(2)} s  (same run)`);
}
