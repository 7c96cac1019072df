// The package as an ops team installs it: `npm pack` here, then docs/install.md's install block,
// run as written, into an empty directory with a temporary prefix (never the machine's global
// one). The installed `runbook-worker` serves the tier's dev server and the installed `runbook`
// takes the smoke runbook (no hosts) to COMPLETED; the unit it ships passes systemd-analyze.
import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageVersion, projectRoot } from '../src/config';
import { identityEnv, testClient, uniqueQueue, type Ran } from './helpers';
import { trackRun } from './leftover-runs';

const MARKER = '<!-- install-block';

/** The fenced block right after the marker in docs/install.md, as written there. */
export function installBlock(docs: string): string {
  const at = docs.indexOf(MARKER);
  assert.ok(at >= 0, `docs/install.md has no ${MARKER} marker`);
  const block = /^```sh\n([\s\S]*?)^```$/m.exec(docs.slice(at));
  assert.ok(block, 'no ```sh block after the install-block marker');
  return block[1];
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the packed tarball, installed by the docs', function () {
  let dir: string;
  let prefix: string;
  let pkg: string;
  let worker: ChildProcess | undefined;
  let workerOutput = '';
  /** The environment of an installed command: the tier's server, inventory and state, not this clone. */
  let env: NodeJS.ProcessEnv;

  before(async function () {
    // npm pack builds (tsc, the workflow bundle) and the install fetches from npm's cache: minutes
    // on a busy machine.
    this.timeout(20 * 60_000);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-install-'));
    const packed = await run('npm', ['pack', '--pack-destination', dir, '--loglevel=error'], process.env, projectRoot);
    assert.equal(packed.code, 0, `npm pack:\n${packed.stderr}`);
    const tarballs = fs.readdirSync(dir);
    assert.deepEqual(tarballs, [`runbook-${packageVersion()}.tgz`]);

    prefix = path.join(dir, 'prefix');
    const block = installBlock(fs.readFileSync(path.join(projectRoot, 'docs', 'install.md'), 'utf8'));
    const npmEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
    const installed = await run(
      'bash',
      ['-euo', 'pipefail', '-c', block],
      {
        ...npmEnv,
        RUNBOOK_PREFIX: prefix,
        npm_config_prefer_offline: 'true',
        npm_config_update_notifier: 'false',
      },
      dir,
    );
    assert.equal(installed.code, 0, `the install block:\n${installed.stdout}\n${installed.stderr}`);
    assert.equal(installed.stdout.trim().split('\n').pop(), packageVersion(), 'the block ends with runbook --version');
    pkg = path.join(prefix, 'lib', 'node_modules', 'runbook');
    env = { ...process.env, RUNBOOK_TASK_QUEUE: uniqueQueue('install') };
    delete env.RUNBOOK_WORKFLOW_BUNDLE;
  });

  after(async function () {
    if (worker && worker.exitCode === null && worker.signalCode === null) {
      const exited = new Promise((r) => worker!.once('exit', r));
      worker.kill('SIGTERM');
      await exited;
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('installs production dependencies only, built: no TypeScript, no sources to compile', function () {
    const modules = fs.readdirSync(path.join(pkg, 'node_modules'));
    for (const dev of ['typescript', 'mocha', 'eslint', 'prettier', '@temporalio/testing'])
      assert.ok(!fs.existsSync(path.join(pkg, 'node_modules', dev)), `${dev} installed`);
    assert.ok(modules.includes('@temporalio'), 'the SDK is installed');
    assert.ok(fs.existsSync(path.join(pkg, 'dist', 'workflow-bundle.js')), 'the prebuilt workflow bundle');
    assert.ok(fs.existsSync(path.join(pkg, 'LICENSE')));
    assert.equal(JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8')).license, 'Apache-2.0');
    assert.deepEqual(
      fs.readdirSync(pkg).filter((f) => f.endsWith('.ts') || f === 'test' || f === 'tsconfig.json'),
      [],
    );
  });

  it('runs the smoke runbook to COMPLETED with the installed worker and CLI', async function () {
    this.timeout(5 * 60_000);
    worker = spawn(path.join(prefix, 'bin', 'runbook-worker'), [], {
      env: { ...env, ...identityEnv('worker') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout!.on('data', (d) => (workerOutput += d));
    worker.stderr!.on('data', (d) => (workerOutput += d));
    for (let i = 0; !workerOutput.includes('worker polling'); i++) {
      assert.equal(worker.exitCode, null, `runbook-worker exited:\n${workerOutput}`);
      assert.ok(i < 1200, `runbook-worker did not start:\n${workerOutput}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    const runbook = (args: string[]): Promise<Ran> =>
      run(path.join(prefix, 'bin', 'runbook'), args, { ...env, ...identityEnv('operator') });
    const started = await runbook(['start', 'smoke', '--env', 'test', '--as', 'operator', '--json']);
    assert.equal(started.code, 0, started.stderr);
    const { runId } = JSON.parse(started.stdout) as { runId: string };
    trackRun((await testClient()).workflow.getHandle(runId), 'test');

    const status = async (): Promise<{ status: string; progress: { state: string; gate?: { name: string } } }> => {
      const shown = await runbook(['status', runId, '--json']);
      assert.equal(shown.code, 0, shown.stderr);
      return JSON.parse(shown.stdout);
    };
    for (let i = 0; (await status()).progress.gate?.name !== 'go-ahead'; i++) {
      assert.ok(i < 300, `the run did not reach its go-ahead gate:\n${workerOutput}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const approved = await runbook(['approve', runId, '--as', 'alice', '--comment', 'installed', '--json']);
    assert.equal(approved.code, 0, approved.stderr);
    const watched = await runbook(['watch', runId, '--json']);
    assert.equal(watched.code, 0, `${watched.stdout}\n${watched.stderr}\n${workerOutput}`);
    const done = await status();
    assert.equal(done.status, 'COMPLETED');
    assert.equal(done.progress.state, 'COMPLETED');
  });

  it('ships the systemd unit, which systemd-analyze verify accepts', function () {
    const unit = path.join(pkg, 'deploy', 'systemd', 'runbook-worker.service');
    const checked = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8', cwd: '/' });
    assert.equal(checked.error, undefined, 'systemd-analyze is missing: scripts/system-packages.txt installs systemd');
    assert.equal(checked.status, 0, checked.stderr);
    assert.deepEqual(
      checked.stderr.split('\n').filter((l) => l.includes('runbook-worker')),
      [],
      'no warning about the unit',
    );
    const unitText = fs.readFileSync(unit, 'utf8');
    // The paths it names are where the docs' block installs the package (with /opt/runbook).
    for (const used of unitText.match(/\/opt\/runbook\/lib\/node_modules\/runbook\/\S+/g) ?? []) {
      const inPackage = path.join(pkg, used.slice('/opt/runbook/lib/node_modules/runbook/'.length));
      assert.ok(fs.existsSync(inPackage), `the unit names ${used}, which the package does not hold`);
    }
  });
});
