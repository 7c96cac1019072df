// Secrets out of history, on the test bed: a real migrate-then-code (whose migrations resolve the
// database password on the worker) and a deploy that fails on its parameter leave a history,
// read raw with the pinned Temporal CLI, holding none of the secret, the parameters, the
// initiator or the approval comment in clear, not even in base64; the same payloads POSTed to
// `runbook codec-server`'s /decode, as the Web UI does, read back.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { cacheDir, projectRoot } from '../src/config';
import { ENCODING } from '../src/codec/aes-gcm-codec';
import { encryptedPayloads } from '../src/codec/history-json';
import type { RunResult } from '../common/shared';
import { atGate, runbookCli, startTestRun, uniqueQueue, waitForProgress, withWorker } from './helpers';
import { rawHistoryJson, readable } from './history-recorder';

const UI_ORIGIN = 'http://127.0.0.1:18233';

interface CodecProcess {
  url: string;
  child: ChildProcess;
}

async function startCodecServerProcess(token: string): Promise<CodecProcess> {
  const child = spawn(
    process.execPath,
    [path.join(projectRoot, 'dist', 'cli', 'main.js'), 'codec-server', '--port', '0', '--origin', UI_ORIGIN, '--json'],
    {
      env: { ...process.env, RUNBOOK_CODEC_TOKEN: token },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const deadline = Date.now() + 30_000;
  while (!/^\}$/m.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`runbook codec-server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: (JSON.parse(output) as { url: string }).url, child };
}

describe('secrets and parameters out of history (payload codec, codec server)', function () {
  const taskQueue = uniqueQueue('codec');
  const tag = randomBytes(4).toString('hex');
  const initiator = `initiator-${tag}`;
  const comment = `contract-ok-${tag}`;
  const badRef = `no-such-ref-${tag}`;
  const token = `token-${randomBytes(12).toString('hex')}`;
  let dbPassword: string;
  let codec: CodecProcess;
  const runs: string[] = [];

  before(async () => {
    // The test bed is built by the global fixture, so its secrets exist only from here on.
    dbPassword = fs.readFileSync(path.join(cacheDir(), 'testbed', 'secrets', 'db-password'), 'utf8').trim();
    codec = await startCodecServerProcess(token);
  });
  after(() => codec?.child.kill('SIGTERM'));

  it('runs migrate-then-code (approved in the CLI with a comment) and a deploy failing on its ref', async function () {
    await withWorker(taskQueue, async () => {
      const release = await startTestRun(taskQueue, {
        runbook: 'migrate-then-code',
        env: 'local',
        initiator,
        params: { ref: 'v1.1.0', 'rollback-window': '1ms' },
      });
      await waitForProgress(release, atGate('contract migration'), 'the contract gate');
      const approved = await runbookCli(['approve', release.workflowId, '--as', 'alice', '--comment', comment]);
      assert.equal(approved.code, 0, approved.stderr);
      assert.equal(((await release.result()) as RunResult).state, 'COMPLETED');
      runs.push(release.workflowId);

      const deploy = await startTestRun(taskQueue, {
        runbook: 'deploy',
        env: 'local',
        initiator,
        params: { ref: badRef },
      });
      const err = await deploy.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof WorkflowFailedError, String(err));
      // Our own client decodes the sealed failure: the operator still reads why.
      assert.match(JSON.stringify((err.cause as { details?: unknown[] })?.details ?? []), new RegExp(badRef));
      runs.push(deploy.workflowId);
    });
  });

  it('raw history holds only ciphertext: no secret, parameter, initiator or comment, even in base64', function () {
    assert.equal(runs.length, 2, 'the runs above finished');
    for (const runId of runs) {
      const history = JSON.parse(rawHistoryJson(runId));
      const sealed = encryptedPayloads(history);
      assert.ok(sealed.length >= 10, `${runId}: only ${sealed.length} encrypted payloads`);
      const text = readable(history);
      for (const clear of [dbPassword, 'v1.1.0', badRef, initiator, comment]) {
        assert.ok(
          !text.includes(clear),
          `${runId}: ${clear === dbPassword ? 'the database password' : JSON.stringify(clear)} ` +
            `is readable in the raw history`,
        );
      }
      assert.ok(text.includes(ENCODING));
    }
  });

  it('reads back through the codec server as the Web UI does; without the token it is refused', async function () {
    const decode = (body: unknown, headers: Record<string, string>) =>
      fetch(`${codec.url}/decode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-namespace': 'default', origin: UI_ORIGIN, ...headers },
        body: JSON.stringify(body),
      });
    const wanted: Record<string, string[]> = {
      [runs[0]]: ['v1.1.0', initiator, comment],
      [runs[1]]: [badRef, initiator],
    };
    for (const runId of runs) {
      const payloads = encryptedPayloads(JSON.parse(rawHistoryJson(runId)));
      const refused = await decode({ payloads }, {});
      assert.equal(refused.status, 401);
      const res = await decode({ payloads }, { authorization: `Bearer ${token}` });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('access-control-allow-origin'), UI_ORIGIN);
      const opened = ((await res.json()) as { payloads: unknown[] }).payloads;
      assert.equal(opened.length, payloads.length);
      assert.equal(encryptedPayloads(opened).length, 0);
      const text = readable(opened);
      for (const clear of wanted[runId])
        assert.ok(text.includes(clear), `${runId}: ${clear} not found in the decoded payloads`);
      assert.ok(!text.includes(dbPassword), `${runId}: the database password reached history`);
    }
  });

  it("answers the Web UI's CORS preflight for its origin", async function () {
    const res = await fetch(`${codec.url}/decode`, {
      method: 'OPTIONS',
      headers: {
        origin: UI_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-namespace,authorization',
      },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), UI_ORIGIN);
    assert.match(res.headers.get('access-control-allow-headers') ?? '', /authorization/);
  });
});
