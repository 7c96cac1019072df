// `npm run demo`, the README main job: a run left at its gate, the UI address printed, and the
// run completing once approved the way the printed instructions say. Run as a newcomer runs it
// (its own dev server, Web UI and codec server), it keeps them up after the run so the
// approver sees the completed run, and Ctrl-C stops every process it started.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { projectRoot } from '../src/config';
import { freePort } from '../dev/dev-server';
import { dataConverter } from '../src/codec/data-converter';
import { approvalSignal } from '../common/shared';
import { atGate, testClient, uniqueQueue, waitForProgress } from './helpers';

interface Demo {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  exited: Promise<number | null>;
}

function startDemo(args: string[], env: NodeJS.ProcessEnv): Demo {
  const child = spawn(process.execPath, [path.join(projectRoot, 'dist', 'dev', 'demo.js'), '--env', 'test', ...args], {
    env: { ...env, RUNBOOK_TASK_QUEUE: uniqueQueue('demo') },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, output: () => output, exited };
}

async function waitForOutput(demo: Demo, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const match = pattern.exec(demo.output());
    if (match) return match;
    assert.ok(Date.now() < deadline && demo.child.exitCode === null, `the demo did not ${what}:\n${demo.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every process below `pid`, read from /proc. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(
        fs
          .readFileSync(`/proc/${entry}/stat`, 'utf8')
          .replace(/^.*\) /s, '')
          .split(' ')[1],
      );
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // the process ended while we read
    }
  }
  const found: number[] = [];
  const walk = (p: number): void => (children.get(p) ?? []).forEach((c) => (found.push(c), walk(c)));
  walk(pid);
  return found;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('demo (the README main job)', function () {
  it('starts a run, prints where to approve it in the Web UI, and finishes once approved', async function () {
    const demo = startDemo(['--exit-when-done'], process.env);
    try {
      const runId = (await waitForOutput(demo, /started (smoke-test-\S+):/, 'start a run'))[1];
      const output = demo.output();
      assert.ok(output.includes(`${process.env.RUNBOOK_UI_URL}/namespaces/default/workflows/${runId}`), output);
      assert.match(output, /signal name: approval/);
      assert.ok(output.includes(`npm run runbook -- approve ${runId} --as alice`), output);

      const handle = (await testClient()).workflow.getHandle(runId);
      await waitForProgress(handle, atGate('go-ahead'));
      await handle.signal(approvalSignal, { approver: 'alice', decision: 'approve', comment: 'looks good' });
      assert.equal(await demo.exited, 0, demo.output());
      assert.match(demo.output(), new RegExp(`${runId}: COMPLETED`));
    } finally {
      demo.child.kill('SIGKILL');
    }
  });

  it('own dev server: keeps the Web UI up with the completed run; Ctrl-C stops all it started', async function () {
    const [port, uiPort, codecPort] = [await freePort(), await freePort(), await freePort()];
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-data-'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      RUNBOOK_SERVER_PORT: String(port),
      RUNBOOK_UI_PORT: String(uiPort),
      RUNBOOK_CODEC_PORT: String(codecPort),
      RUNBOOK_DEV_DATA_DIR: dataDir,
    };
    for (const name of ['TEMPORAL_ADDRESS', 'RUNBOOK_UI_URL']) delete env[name];
    const demo = startDemo([], env);
    let client: Client | undefined;
    try {
      const runId = (await waitForOutput(demo, /started (smoke-test-\S+):/, 'start a run'))[1];
      const uiUrl = `http://127.0.0.1:${uiPort}`;
      assert.ok(demo.output().includes(`${uiUrl}/namespaces/default/workflows/${runId}`), demo.output());
      client = new Client({
        connection: await Connection.connect({ address: `127.0.0.1:${port}` }),
        dataConverter: dataConverter(),
      });
      const handle = client.workflow.getHandle(runId);
      await waitForProgress(handle, atGate('go-ahead'));
      await handle.signal(approvalSignal, { approver: 'alice', decision: 'approve', comment: 'looks good' });
      await waitForOutput(
        demo,
        new RegExp(`${runId}: COMPLETED\\n\\s+the run and its result: \\S+${runId}`),
        'print the outcome',
      );
      await waitForOutput(demo, /keep running so you can look at the run; Ctrl-C stops them/, 'stay up');

      // What the approver's browser asks the Web UI for: the run, completed.
      const answer = await fetch(`${uiUrl}/api/v1/namespaces/default/workflows/${runId}`);
      assert.equal(answer.status, 200, await answer.clone().text());
      const body = JSON.stringify(await answer.json());
      assert.match(body, /WORKFLOW_EXECUTION_STATUS_COMPLETED/, body.slice(0, 500));
      const codecAnswer = await fetch(`http://127.0.0.1:${codecPort}/decode`, { method: 'OPTIONS' }).catch(
        () => undefined,
      );
      assert.ok(codecAnswer, 'the codec server answers while the demo is up');

      const started = descendants(demo.child.pid!);
      assert.ok(started.length > 0, 'the demo runs the dev server as a child');
      demo.child.kill('SIGINT');
      assert.equal(await demo.exited, 0, demo.output());
      assert.match(
        demo.output(),
        /Ctrl-C: stopping the worker, the Web UI, the codec server and the dev server\.\.\.\nstopped\./,
      );
      assert.deepEqual(started.filter(alive), [], 'a process the demo started outlived it');
      await assert.rejects(fetch(uiUrl), 'the Web UI is down');
      await assert.rejects(fetch(`http://127.0.0.1:${codecPort}/decode`), 'the codec server is down');
    } finally {
      demo.child.kill('SIGKILL');
      await client?.connection.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
