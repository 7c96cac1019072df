// The local Temporal cluster of `npm run cluster` (scripts/cluster/), as the tests and the bench
// reach it: its address, and its script run as a child process.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TLSConfig } from '@temporalio/client';
import { projectRoot } from '../src/config';

const script = path.join(projectRoot, 'scripts', 'cluster', 'cluster.sh');

/** The frontend's address (scripts/cluster/common.sh sets the same default). */
export function clusterAddress(): string {
  return `127.0.0.1:${process.env.RUNBOOK_CLUSTER_PORT ?? '7333'}`;
}

/** The identities of the cluster's certificates (scripts/cluster/tls.sh): the role is the certificate's OU. */
export type ClusterIdentity = 'worker' | 'operator' | 'admin';

/**
 * The variables (`npm run cluster -- env --as who`) that connect a worker, the runbook CLI or the
 * Temporal CLI to the cluster as `who`: its address and that identity's TLS settings.
 */
export function clusterEnv(who: ClusterIdentity): Record<string, string> {
  const ran = spawnSync('bash', [script, 'env', '--as', who], { encoding: 'utf8' });
  if (ran.status !== 0) throw new Error(`npm run cluster -- env --as ${who}: ${ran.stderr.trim()}`);
  const words = ran.stdout
    .trim()
    .replace(/^export /, '')
    .split(/\s+/);
  return Object.fromEntries(words.map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
}

/** The SDK's TLS options (Connection, NativeConnection) for TEMPORAL_TLS_* variables such as clusterEnv's. */
export function tlsOptions(env: Record<string, string | undefined>): TLSConfig | undefined {
  const { TEMPORAL_TLS_CLIENT_CERT_PATH: cert, TEMPORAL_TLS_CLIENT_KEY_PATH: key } = env;
  const { TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca, TEMPORAL_TLS_SERVER_NAME: serverName } = env;
  if (!cert || !key || !ca) return undefined;
  return {
    serverNameOverride: serverName,
    serverRootCACertificate: fs.readFileSync(ca),
    clientCertPair: { crt: fs.readFileSync(cert), key: fs.readFileSync(key) },
  };
}

/** Connection options of `who` on the cluster. */
export function clusterConnection(who: ClusterIdentity): { address: string; tls?: TLSConfig } {
  const env = clusterEnv(who);
  return { address: env.TEMPORAL_ADDRESS, tls: tlsOptions(env) };
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
