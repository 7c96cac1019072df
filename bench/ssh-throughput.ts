// Commands per second on one test-bed host: our pooled SSH layer, a fresh connection per
// command, and OpenSSH's ControlMaster driven from a shell loop, all in the same run.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SshPool, pool } from '../activities/ssh/pool';
import { runOn } from '../activities/ssh/run';
import { resolveTarget, type SshTarget } from '../activities/ssh/target';

const POOLED = 300;
const FRESH = 40;
const CONTROL_MASTER = 300;

async function perSecond(n: number, fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return n / ((performance.now() - t0) / 1000);
}

function controlMasterLoop(target: SshTarget, n: number): number {
  if (!target.privateKeyPath) throw new Error(`${target.name}: the baseline logs in with a key file (ssh.privateKey)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-'));
  const opts = [
    '-i',
    target.privateKeyPath,
    '-o',
    `UserKnownHostsFile=${target.knownHostsPath}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'ControlMaster=auto',
    '-o',
    `ControlPath=${dir}/cm`,
    '-o',
    'ControlPersist=60',
    '-p',
    String(target.port),
    `${target.username}@${target.address}`,
  ];
  // The master connection is opened before timing, as our pool's is.
  const script = [
    'n=$1',
    'shift',
    'ssh "$@" true',
    'start=$(date +%s%N)',
    'for i in $(seq "$n"); do ssh "$@" true; done',
    'end=$(date +%s%N)',
    'ssh -O exit "$@" 2>/dev/null',
    'echo $(( (end - start) / 1000 ))',
  ].join('; ');
  const ran = spawnSync('bash', ['-c', script, 'bench', String(n), ...opts], { encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true, force: true });
  if (ran.status !== 0) throw new Error(`ControlMaster loop failed: ${ran.stderr}`);
  return n / (Number(ran.stdout.trim().split('\n').pop()) / 1e6);
}

export async function sshThroughput(): Promise<void> {
  const target = resolveTarget({ env: 'local', host: 'web-green' });
  await runOn(target, ['true']);
  const pooled = await perSecond(POOLED, () => runOn(target, ['true']));
  await pool.closeAll();
  const fresh = await perSecond(FRESH, async () => {
    const single = new SshPool();
    await (await single.get(target)).execCommand('true');
    await single.closeAll();
  });
  const cm = controlMasterLoop(target, CONTROL_MASTER);
  console.log(`ssh commands per second on ${target.name} (\`true\`, sequential)`);
  console.log(`  pooled connection (ours):      ${pooled.toFixed(0)}/s`);
  console.log(
    `  fresh connection per command:  ${fresh.toFixed(1)}/s  (pooled is ${(pooled / fresh).toFixed(1)}x faster)`,
  );
  console.log(`  ssh ControlMaster shell loop:  ${cm.toFixed(0)}/s  (baseline, same run)`);
  console.log(`  pooled time per command / ControlMaster's: ${(cm / pooled).toFixed(2)}x  (target ≤ 1.5x)`);
}
