// The Temporal dev server (`temporal server start-dev`): the real server with SQLite
// persistence and the Web UI. Used by `npm run server`, the demo and the test suite.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { projectRoot } from '../src/config';
import { SEARCH_ATTRIBUTES } from '../common/shared';

export interface DevServerOptions {
  port?: number;
  uiPort?: number;
  /** Persist to this SQLite file; in memory when absent. */
  dbFile?: string;
  /** Where the server's own log goes; discarded when absent. */
  logFile?: string;
  /** The codec server the Web UI calls to show payloads decrypted; ciphertext without it. */
  codecEndpoint?: string;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  /** The server process, when we started one ourselves. */
  pid?: number;
  /**
   * Settles with how the server went (`killed by SIGKILL`, `exited with code 1`) when it ends
   * without stop() being called; never settles otherwise. Whoever started it stops with it.
   */
  died: Promise<string>;
  stop(): Promise<void>;
}

/** The located (or freshly built) Temporal CLI, or undefined when there is neither it nor Go. */
export function temporalCliPath(): string | undefined {
  const found = spawnSync('bash', [path.join(projectRoot, 'scripts', 'temporal-cli.sh'), '--path'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (found.status === 0) return found.stdout.trim();
  if (found.status === 3) return undefined;
  throw new Error(`scripts/temporal-cli.sh --path failed with exit code ${found.status}`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Server flags every dev server of ours gets, whichever way it is started. */
export function devServerArgs(): string[] {
  return [
    ...SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=Keyword`]),
    // The dev server has one history shard, and history reads each shard's transfer queue (the
    // tasks that hand workflow and activity tasks to matching) at most 20 times a second by
    // default, burst 20. A run's steps each need two such reads (its workflow task and its
    // activity task), so once the burst was spent every step took exactly 100 ms. Unthrottled,
    // a task reaches its poller in ~2 ms.
    '--dynamic-config-value',
    'history.transferProcessorMaxPollRPS=10000',
    // Activities come back in the response to the workflow task that scheduled them (the SDK
    // asks for this by default; the server refuses unless enabled), saving a round trip per step.
    '--dynamic-config-value',
    'system.enableActivityEagerExecution=true',
    // The CLI turns this on so that search attributes created at run time show at once; ours are
    // all registered at start-up (above), and re-reading them on every request costs CPU per step.
    '--dynamic-config-value',
    'system.forceSearchAttributesCacheRefreshOnRead=false',
    // One partition per task queue: no forwarding hop between partitions (worth ~1 ms a step).
    '--dynamic-config-value',
    'matching.numTaskqueueReadPartitions=1',
    '--dynamic-config-value',
    'matching.numTaskqueueWritePartitions=1',
  ];
}

function uiArgs(options: DevServerOptions): string[] {
  return options.codecEndpoint ? ['--ui-codec-endpoint', options.codecEndpoint] : [];
}

export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const port = options.port ?? (await freePort());
  const uiPort = options.uiPort ?? (await freePort());
  const address = `127.0.0.1:${port}`;
  const uiUrl = `http://127.0.0.1:${uiPort}`;
  const cli = temporalCliPath();
  if (!cli) return startWithSdkDownload(port, uiPort, options);

  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--log-level',
    'warn',
    ...devServerArgs(),
    ...uiArgs(options),
  ];
  if (options.dbFile) {
    fs.mkdirSync(path.dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  const log = options.logFile ? fs.openSync(options.logFile, 'a') : 'ignore';
  const child = spawn(cli, args, { stdio: ['ignore', log, log] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stopping = false;
  const died = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => {
      if (!stopping) resolve(signal ? `was killed by ${signal}` : `exited with code ${code}`);
    }),
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  try {
    await waitUntilServing(address, exited);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    address,
    uiUrl,
    pid: child.pid,
    died,
    stop: async () => {
      stopping = true;
      process.removeListener('exit', killOnExit);
      await stopChild(child, exited);
    },
  };
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** True when a Temporal frontend answers at `address`. */
export async function isServing(address: string): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: 1000 });
    try {
      await connection.workflowService.getSystemInfo({});
      return true;
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}

async function waitUntilServing(address: string, exited: Promise<number | null>): Promise<void> {
  let gone: number | null | undefined;
  void exited.then((code) => (gone = code));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (gone !== undefined)
      throw new Error(`the Temporal dev server exited (code ${gone}) before answering on ${address}`);
    if (await isServing(address)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the Temporal dev server did not answer on ${address} within 60s`);
}

/** For machines with neither the CLI nor Go: the SDK downloads a dev server binary (needs the internet). */
async function startWithSdkDownload(port: number, uiPort: number, options: DevServerOptions): Promise<DevServer> {
  console.error("no Temporal CLI and no Go here: using the SDK's downloaded dev server (needs the internet)");
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      ip: '127.0.0.1',
      port,
      ui: true,
      uiPort,
      dbFilename: options.dbFile,
      extraArgs: ['--log-level', 'warn', ...devServerArgs(), ...uiArgs(options)],
    },
  });
  // The SDK's server is its own child: its death is not reported here (died never settles).
  return {
    address: `127.0.0.1:${port}`,
    uiUrl: `http://127.0.0.1:${uiPort}`,
    died: new Promise<string>(() => {}),
    stop: () => env.teardown(),
  };
}
