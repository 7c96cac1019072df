// `npm run server` lives and dies with the Temporal server it started: killed with SIGKILL, the
// server takes `npm run server` with it within seconds, every port is released (its codec
// server's included), and the next `npm run server` starts its codec server on the same port.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { projectRoot } from '../src/config';
import { freePort } from '../dev/dev-server';

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startServerMain(env: Record<string, string>): Started {
  const child = spawn(process.execPath, [path.join(projectRoot, 'dist', 'dev', 'dev-server-main.js')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function waitFor(started: Started, pattern: RegExp, ms = 120_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = pattern.exec(started.output());
    if (found) return found;
    assert.ok(Date.now() < deadline && started.child.exitCode === null, `no ${pattern} in:\n${started.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

describe('npm run server', function () {
  this.timeout(300_000);
  let dir: string;
  const children: ChildProcess[] = [];

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-server-'));
  });
  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('exits clearly in seconds when its Temporal server is SIGKILLed; the next one gets its ports', async function () {
    const ports = { server: await freePort(), ui: await freePort(), codec: await freePort() };
    const env = {
      RUNBOOK_SERVER_PORT: String(ports.server),
      RUNBOOK_UI_PORT: String(ports.ui),
      RUNBOOK_CODEC_PORT: String(ports.codec),
      RUNBOOK_DEV_DATA_DIR: dir,
      RUNBOOK_CODEC_ENDPOINT: '',
    };
    const first = startServerMain(env);
    children.push(first.child);
    const pid = Number((await waitFor(first, /Temporal dev server \(pid (\d+)\)/))[1]);
    await waitFor(first, new RegExp(`codec server on http://127\\.0\\.0\\.1:${ports.codec}`));
    assert.match(
      first.output(),
      new RegExp(
        /runs only \(not environment locks\): http:\/\/127\.0\.0\.1:\d+/.source +
          /\/namespaces\/default\/workflows\?query=RunbookName%20IS%20NOT%20NULL/.source,
      ),
    );

    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const code = await Promise.race([
      first.exited,
      new Promise<string>((r) => setTimeout(() => r('still running'), 15_000)),
    ]);
    const took = Date.now() - killedAt;
    assert.equal(code, 1, first.output());
    assert.ok(took < 10_000, `took ${took} ms`);
    assert.match(
      first.output(),
      new RegExp(
        `server: the Temporal dev server \\(pid ${pid}\\) was killed by SIGKILL: ` +
          `stopping, with the codec server on http://127\\.0\\.0\\.1:${ports.codec}`,
      ),
    );
    for (const [what, port] of Object.entries(ports))
      assert.ok(await portFree(port), `the ${what} port ${port} is free again`);

    const second = startServerMain(env);
    children.push(second.child);
    await waitFor(
      second,
      new RegExp(`codec server on http://127\\.0\\.0\\.1:${ports.codec}: the Web UI shows payloads decrypted`),
    );
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, second.output());
  });
});
