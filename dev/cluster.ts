// The local Temporal cluster of `npm run cluster` (scripts/cluster/), as the tests and the bench
// reach it: its address, and its script run as a child process.
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { projectRoot } from '../src/config';

const script = path.join(projectRoot, 'scripts', 'cluster', 'cluster.sh');

/** The frontend's address (scripts/cluster/common.sh sets the same default). */
export function clusterAddress(): string {
  return `127.0.0.1:${process.env.RUNBOOK_CLUSTER_PORT ?? '7333'}`;
}

export function clusterRunning(): boolean {
  return spawnSync('bash', [script, 'status'], { stdio: 'ignore' }).status === 0;
}

/** Runs `cluster.sh ARGS`, its progress lines on our stderr; rejects on a non-zero exit. */
export function cluster(args: string[], timeoutMs = 45 * 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, ...args], { stdio: ['ignore', 'ignore', 'inherit'], timeout: timeoutMs });
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`npm run cluster -- ${args.join(' ')} exited with ${code ?? signal}`)),
    );
  });
}
