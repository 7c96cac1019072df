// Settings read from the process environment, in one place. Not for workflow code.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadClientConnectConfig, type ClientConnectConfig } from '@temporalio/envconfig';
import { DEFAULT_TASK_QUEUE } from '../common/shared';

export function taskQueue(): string {
  return process.env.RUNBOOK_TASK_QUEUE || DEFAULT_TASK_QUEUE;
}

/** Caches that outlive a clone (the Temporal CLI, test-bed images). */
export function cacheDir(): string {
  return (
    process.env.RUNBOOK_CACHE_DIR ||
    path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'runbook')
  );
}

/** Where local activities keep their files (the smoke runbook's markers). */
export function stateDir(): string {
  return (
    process.env.RUNBOOK_STATE_DIR ||
    path.join(process.env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state'), 'runbook')
  );
}

/** The repository's root: the directory holding package.json, whether we run from dist/ or not. */
export const projectRoot: string = (() => {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
})();

/** The engine's version: its package's (`runbook --version`). */
export function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error(`${projectRoot}/package.json has no version`);
  return pkg.version;
}

/** Directories holding inventory files, searched in order (RUNBOOK_INVENTORY_DIR, colon-separated). */
export function inventoryDirs(): string[] {
  const dirs = process.env.RUNBOOK_INVENTORY_DIR;
  return dirs ? dirs.split(':').filter(Boolean) : [path.join(projectRoot, 'inventory')];
}

/**
 * How to reach Temporal, by Temporal's own conventions: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TEMPORAL_TLS_* and TEMPORAL_PROFILE / temporal.toml. Default: the local dev server.
 */
export function temporalConnectConfig(): {
  connectionOptions: ClientConnectConfig['connectionOptions'];
  namespace: string;
} {
  const config = loadClientConnectConfig();
  return {
    connectionOptions: { ...config.connectionOptions, address: config.connectionOptions.address || 'localhost:7233' },
    namespace: config.namespace || 'default',
  };
}

/** Where `npm run server` and the demo run the local dev server, and where it keeps its data. */
export function localDevServer(): { port: number; uiPort: number; dataDir: string } {
  return {
    port: Number(process.env.RUNBOOK_SERVER_PORT || 7233),
    uiPort: Number(process.env.RUNBOOK_UI_PORT || 8233),
    dataDir: process.env.RUNBOOK_DEV_DATA_DIR || path.join(projectRoot, '.temporal'),
  };
}

/** The lab override of the worker's refusal to run on a protected environment over plaintext. */
export const ALLOW_PLAINTEXT_PROTECTED = 'RUNBOOK_ALLOW_PLAINTEXT_PROTECTED';

/**
 * Why this process may not act on a protected environment, if it may not: its Temporal connection
 * (temporalConnectConfig, the worker's own) has no TLS, so whoever reaches the server could take
 * the run's tasks or forge their results, and nothing says who sent a decision. A lab without TLS
 * (the dev server of `npm run server`, the demo, the dev-server test tiers) sets
 * RUNBOOK_ALLOW_PLAINTEXT_PROTECTED=1.
 */
export function plaintextRefusal(environment: string): string | undefined {
  if (process.env[ALLOW_PLAINTEXT_PROTECTED] === '1') return undefined;
  const { connectionOptions } = temporalConnectConfig();
  if (connectionOptions.tls) return undefined;
  return (
    `${environment} is protected and this worker's connection to Temporal at ${connectionOptions.address} ` +
    `has no TLS: set TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH and ` +
    `TEMPORAL_TLS_SERVER_CA_CERT_PATH (or TEMPORAL_TLS=true, or a temporal.toml profile with TLS) ` +
    `for the worker; a lab without TLS may set ${ALLOW_PLAINTEXT_PROTECTED}=1`
  );
}
