// Fleets on the test bed's fleet (`testbed up --web 100`), each figure the engine beside a plain
// script doing the same work (bench/fleet-plain.ts: the commands the engine's run sent, recorded
// and checked, over an OpenSSH ControlMaster per host, warm on both sides, at the same
// concurrency), alternating, several rounds, median and spread and the load average:
// - a blue/green deploy to an idle colour of 1, 20 and 99 hosts (web-01 the live colour);
// - run-command of a realistic command (a few reads and a checksum) on 1, 20 and 100 hosts;
// and the event counts of the 99-host deploy's and the 100-host command's histories.
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { stringify as stringifyYaml, parse as parseYaml } from 'yaml';
import { pool } from '../activities/ssh/pool';
import { runCommand } from '../activities/hosts';
import { restartApp } from '../activities/release';
import { setUpstream } from '../activities/upstream';
import { cacheDir, projectRoot } from '../src/config';
import type { Environment } from '../src/inventory';
import { prepareRun, startRun } from '../src/start';
import { workerOptions } from '../worker/worker-options';
import { dataConverter } from '../src/codec/data-converter';
import { checkRan, perHost, readRecord, withRunId, writePlainScript } from './fleet-plain';
import { median } from './stats';

const FLEET = 100;
const DEPLOY_SIZES = [1, 20, 99];
const COMMAND_SIZES = [1, 20, 100];
/** The same on both sides: the engine's `vars.fleetConcurrency`, the script's `xargs -P`. */
const CONCURRENCY = 20;
const ROUNDS = Math.max(1, Number(process.env.RUNBOOK_BENCH_ROUNDS) || 3);
/** What an operator would run across a fleet: a few reads and a checksum of the app's code. */
const COMMAND = ['sh', '-c', 'uptime; df -P /srv; ps -e | wc -l; cat /srv/app/*.py | sha256sum'];
const web = (i: number) => `web-${String(i).padStart(2, '0')}`;

function testbed(...args: string[]): void {
  execFileSync('bash', [path.join(projectRoot, 'scripts', 'testbed', 'testbed.sh'), ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

function writeEnv(dir: string, env: Environment): string {
  fs.writeFileSync(path.join(dir, `${env.environment}.yaml`), stringifyYaml(env));
  return env.environment;
}

/** Environment `bench-bg<n>`: web-01 blue (live), the next n hosts green. */
function colourInventory(dir: string, fleet: Environment, n: number): string {
  const env = structuredClone(fleet);
  env.environment = `bench-bg${n}`;
  const keep = new Set([web(1), ...Array.from({ length: n }, (_, i) => web(i + 2))]);
  env.hosts = Object.fromEntries(
    Object.entries(fleet.hosts).filter(([h, v]) => !v.roles.includes('web') || keep.has(h)),
  );
  for (const h of keep) env.hosts[h].colour = h === web(1) ? 'blue' : 'green';
  for (const s of Object.values(env.services)) s.hosts = s.hosts.filter((h) => h in env.hosts);
  env.vars.fleetConcurrency = CONCURRENCY;
  return writeEnv(dir, env);
}

function commandInventory(dir: string, fleet: Environment): string {
  const env = structuredClone(fleet);
  env.environment = 'bench-cmd';
  env.vars.fleetConcurrency = CONCURRENCY;
  return writeEnv(dir, env);
}

function sshOptions(fleet: Environment): string[] {
  if (!fleet.ssh.privateKey) throw new Error('the baseline logs in with a key file (ssh.privateKey)');
  const expand = (p: string) => p.replace('${RUNBOOK_CACHE_DIR}', cacheDir());
  return [
    '-i',
    expand(fleet.ssh.privateKey),
    '-o',
    `UserKnownHostsFile=${expand(fleet.ssh.knownHosts)}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
  ];
}

/** A ControlMaster per host, opened before any timing: warm, as the engine's pool is after its first run. */
async function openMasters(dir: string, addresses: string[], options: string[]): Promise<() => Promise<void>> {
  const control = ['-o', `ControlPath=${dir}/m-%h`];
  const run = promisify(execFile);
  const each = async (f: (a: string) => Promise<unknown>) => {
    for (let i = 0; i < addresses.length; i += CONCURRENCY)
      await Promise.all(addresses.slice(i, i + CONCURRENCY).map(f));
  };
  await each((a) =>
    run('ssh', [...options, ...control, '-o', 'ControlMaster=yes', '-o', 'ControlPersist=900', '-fN', `root@${a}`]),
  );
  return () => each((a) => run('ssh', [...options, ...control, '-O', 'exit', `root@${a}`]).catch(() => undefined));
}

interface Timed {
  ms: number;
  load: number;
}

interface Side {
  engine: Timed[];
  plain: Timed[];
  commands: number;
  /** Whether every timed engine run sent the same commands as the one the script was made from. */
  same: boolean;
}

function spread(values: number[]): string {
  const s = values.map((v) => v / 1000);
  return `${(median(s) ?? 0).toFixed(2)} s (${Math.min(...s).toFixed(2)}–${Math.max(...s).toFixed(2)})`;
}

function report(label: string, side: Side): void {
  const e = median(side.engine.map((t) => t.ms));
  const p = median(side.plain.map((t) => t.ms));
  const loads = [...side.engine, ...side.plain].map((t) => t.load);
  console.log(
    `  ${label}: engine ${spread(side.engine.map((t) => t.ms))}, plain ${spread(side.plain.map((t) => t.ms))}, ` +
      `${(e / p).toFixed(2)}x; ${side.commands} commands${side.same ? '' : ' (the engine runs differed)'}; ` +
      `load ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`,
  );
}

/** Events in a run's history and in each of its child workflows' (a batch, or a step over many hosts). */
async function eventCounts(client: Client, workflowId: string): Promise<string> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const children = (history.events ?? [])
    .map((e) => e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId)
    .filter((id): id is string => !!id);
  const counts = await Promise.all(
    children.map(async (id) => (await client.workflow.getHandle(id).fetchHistory()).events?.length ?? 0),
  );
  const own = history.events?.length ?? 0;
  return (
    `${own} events in the run's own history` +
    (counts.length
      ? `, ${counts.length} child workflows of ${Math.min(...counts)} to ${Math.max(...counts)} events ` +
        `(${own + counts.reduce((a, b) => a + b, 0)} in all)`
      : '')
  );
}

export async function fleetBench(address: string): Promise<void> {
  testbed('up', '--web', String(FLEET));
  const stateDir = process.env.TESTBED_STATE_DIR || '/run/runbook-testbed';
  const fleet = parseYaml(fs.readFileSync(path.join(stateDir, 'inventory', 'fleet.yaml'), 'utf8')) as Environment;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-fleet-'));
  const inventories = path.join(dir, 'inventory');
  fs.mkdirSync(inventories);
  const previous = process.env.RUNBOOK_INVENTORY_DIR;
  process.env.RUNBOOK_INVENTORY_DIR = [inventories, path.join(stateDir, 'inventory'), previous]
    .filter(Boolean)
    .join(':');
  const connection = await NativeConnection.connect({ address });
  const client = new Client({ connection: await Connection.connect({ address }), dataConverter: dataConverter() });
  const taskQueue = `bench-fleet-${Date.now()}`;
  const worker = await Worker.create({ connection, ...workerOptions(), taskQueue });
  const options = sshOptions(fleet);
  const closeMasters = await openMasters(
    dir,
    Array.from({ length: FLEET }, (_, i) => fleet.hosts[web(i + 1)].address),
    options,
  );
  const results: { label: string; side: Side }[] = [];
  const histories: string[] = [];
  let serial = 0;

  /** One run through the engine, its commands recorded. */
  const engineRun = async (runbook: string, env: string, params: Record<string, unknown>) => {
    const record = path.join(dir, `record-${++serial}.jsonl`);
    process.env.RUNBOOK_SSH_RECORD = record;
    let handle: WorkflowHandle;
    const t0 = performance.now();
    try {
      const run = prepareRun({ runbook, env, params: params as never, initiator: 'bench' });
      handle = (await startRun(client, run, taskQueue)).handle;
      await handle.result();
    } finally {
      delete process.env.RUNBOOK_SSH_RECORD;
    }
    const ms = performance.now() - t0;
    const { runId } = await handle.describe();
    const ids = [handle.workflowId, runId];
    const commands = withRunId(readRecord(record), ids, 'RUNID');
    fs.rmSync(record, { force: true });
    return { ms, load: os.loadavg()[0], commands, workflowId: handle.workflowId };
  };

  /** A warm-up run (the pool opened; the script made from its record), then engine and script in turn. */
  const measure = async (
    label: string,
    runbook: string,
    env: string,
    params: Record<string, unknown>,
    reset: () => Promise<void>,
  ): Promise<string> => {
    await reset();
    const first = await engineRun(runbook, env, params);
    const template = JSON.stringify(perHost(first.commands));
    const side: Side = { engine: [], plain: [], commands: first.commands.length, same: true };
    let last = first.workflowId;
    for (let round = 1; round <= ROUNDS; round++) {
      await reset();
      const e = await engineRun(runbook, env, params);
      side.same &&= JSON.stringify(perHost(e.commands)) === template;
      side.engine.push({ ms: e.ms, load: e.load });
      last = e.workflowId;
      await reset();
      // A fresh run id for the script's markers, of the same length as the engine's.
      const plainDir = path.join(dir, `plain-${++serial}`);
      const plain = writePlainScript(
        plainDir,
        withRunId(first.commands, ['RUNID'], `plain${serial}-${Date.now()}`),
        [...options],
        CONCURRENCY,
        `${dir}/m-%h`,
      );
      const t0 = performance.now();
      await promisify(execFile)('bash', [plain.script], { maxBuffer: 16 << 20 });
      side.plain.push({ ms: performance.now() - t0, load: os.loadavg()[0] });
      checkRan(plain);
      fs.rmSync(plainDir, { recursive: true, force: true });
    }
    results.push({ label, side });
    report(label, side);
    return last;
  };

  try {
    await worker.runUntil(async () => {
      console.log(
        `fleet: engine beside the plain script of its own commands (ControlMaster per host, ` +
          `${CONCURRENCY} at once), ${ROUNDS} rounds alternating; ${os.cpus().length} cores`,
      );
      for (const n of DEPLOY_SIZES) {
        const env = colourInventory(inventories, fleet, n);
        const greens = Array.from({ length: n }, (_, i) => web(i + 2));
        // From the same start each time: web-01 serving v1.0.0, every green host stopped on v1.0.0.
        const reset = async () => {
          await restartApp({ env, host: web(1) });
          await setUpstream({ env, hosts: [web(1)] });
          const idle =
            'supervisorctl stop app >/dev/null; runuser -u app -- git -C /srv/app checkout -q --detach v1.0.0';
          for (let i = 0; i < greens.length; i += CONCURRENCY)
            await Promise.all(
              greens.slice(i, i + CONCURRENCY).map((host) => runCommand({ env, host, argv: ['sh', '-c', idle] })),
            );
        };
        const id = await measure(
          `blue/green deploy, ${n} idle host${n === 1 ? '' : 's'}`,
          'deploy',
          env,
          {
            ref: 'v1.1.0',
            'rollback-window': '1ms',
          },
          reset,
        );
        if (n === DEPLOY_SIZES[DEPLOY_SIZES.length - 1])
          histories.push(`deploy to ${n} hosts: ${await eventCounts(client, id)}`);
      }
      const env = commandInventory(inventories, fleet);
      for (const n of COMMAND_SIZES) {
        const hosts = Array.from({ length: n }, (_, i) => web(i + 1)).join(',');
        const id = await measure(
          `run-command, ${n} host${n === 1 ? '' : 's'}`,
          'run-command',
          env,
          {
            hosts,
            batch: String(n),
            argv: COMMAND,
          },
          async () => undefined,
        );
        if (n === FLEET) histories.push(`run-command on ${n} hosts: ${await eventCounts(client, id)}`);
      }
      for (const h of histories) console.log(`  history of the ${h}`);
    });
  } finally {
    await closeMasters();
    await client.connection.close();
    await connection.close();
    await pool.closeAll();
    process.env.RUNBOOK_INVENTORY_DIR = previous;
    fs.rmSync(dir, { recursive: true, force: true });
  }
  testbed('up', '--web', '0');
}
