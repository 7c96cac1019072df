// A CLI whose key ring is not the workers' seals a run's input under a key no worker has: the
// worker's workflow task fails on it, out of the CLI's sight. The start must say so, naming the
// key, rather than wait out its admission deadline ("no worker admitted it within 30s").
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createKeysFile, readKeyRing, rotateKeysFile } from '../src/codec/keys';
import { runbookCli, testClient, uniqueQueue } from './helpers';
import { startWorkerProcess, type WorkerProcess } from './worker-process';

describe('a start no worker can open', function () {
  this.timeout(180_000);
  const taskQueue = uniqueQueue('codec-mismatch');
  let worker: WorkerProcess | undefined;
  let dir: string;
  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'codec-mismatch-'));
    // The worker keeps the suite's ring (RUNBOOK_CODEC_KEYS of the fixture).
    worker = await startWorkerProcess(taskQueue);
  });
  after(async function () {
    await worker?.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function startWith(ring: string): Promise<{ error: string; exitCode: number; runId: string }> {
    const ran = await runbookCli(['start', 'smoke', '--env', 'test', '--json'], {
      RUNBOOK_TASK_QUEUE: taskQueue,
      RUNBOOK_CODEC_KEYS: ring,
    });
    assert.equal(ran.code, 1, `${ran.stdout}${ran.stderr}`);
    const { error, exitCode } = JSON.parse(ran.stdout) as { error: string; exitCode: number };
    assert.doesNotMatch(error, /no worker admitted/);
    const runId = /no worker can open (\S+):/.exec(error)?.[1];
    assert.ok(runId, error);
    // Nothing ran, and the run is not left failing its tasks forever.
    const described = await (await testClient()).workflow.getHandle(runId).describe();
    assert.equal(described.status.name, 'TERMINATED');
    return { error, exitCode, runId };
  }

  it('from a ring of its own: names its key and says the rings differ', async function () {
    const ring = path.join(dir, 'other.json');
    createKeysFile(ring);
    const { error } = await startWith(ring);
    assert.match(error, new RegExp(`seals under key "${readKeyRing(ring).activeKeyId}"`));
    assert.match(error, /the rings differ; RUNBOOK_CODEC_KEYS must name the ring the workers use/);
  });

  it("from the workers' ring rotated without them: names the key the worker lacks", async function () {
    const ring = path.join(dir, 'rotated.json');
    fs.copyFileSync(process.env.RUNBOOK_CODEC_KEYS!, ring);
    const added = rotateKeysFile(ring);
    const { error } = await startWith(ring);
    assert.match(error, new RegExp(`the worker's key ring does not have key "${added}"`));
  });
});
