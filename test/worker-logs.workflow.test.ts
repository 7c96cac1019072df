// The worker's log, read as an operator's tools read it: a worker process (the production entry,
// stub activities) runs the kernel's three-step runbook, and its standard output is parsed line
// by line. Every line is one JSON object; every step has a start and an end line naming the run,
// runbook, environment, step, host, attempt and outcome; a secret a host's output leaked is not
// in the log; RUNBOOK_LOG_LEVEL leaves out what is below it.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { uniqueQueue } from './helpers';
import { startThreeSteps } from './kernel-stubs';
import { ended } from './run-ended';
import { startWorkerProcess, type WorkerProcess } from './worker-process';
import { THREE_STEPS } from './workflows';

type Line = Record<string, unknown>;

function parse(stdout: string): Line[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      try {
        return JSON.parse(l) as Line;
      } catch {
        throw new Error(`a log line that is not JSON: ${l.slice(0, 300)}`);
      }
    });
}

/** The worker's lines of run `runId`, once its end is among them (workflow lines leave in batches). */
async function linesOf(worker: WorkerProcess, runId: string): Promise<Line[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const lines = parse(worker.stdout()).filter((l) => l.runId === runId);
    if (lines.some((l) => l.msg === 'run ended')) return lines;
    if (Date.now() > deadline) throw new Error(`no "run ended" line for ${runId}:\n${worker.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const SECRET = `tok-${randomBytes(12).toString('hex')}`;
const entry = ['test', 'stub-worker-main.js'];

describe("the worker's log", function () {
  this.timeout(180_000);

  describe('at INFO', function () {
    const taskQueue = uniqueQueue('logs');
    let worker: WorkerProcess;
    before(async function () {
      worker = await startWorkerProcess(
        taskQueue,
        { RUNBOOK_LOG_LEVEL: 'INFO', RUNBOOK_TEST_LOG_SECRET: SECRET },
        { entry },
      );
    });
    after(async function () {
      await worker?.kill('SIGTERM');
    });

    it('has a start and an end line for every step, with the run, host, attempt and outcome', async function () {
      const handle = await startThreeSteps(taskQueue);
      const { result } = await ended(handle);
      assert.equal(result.state, 'COMPLETED');
      const lines = await linesOf(worker, handle.workflowId);
      for (const line of lines) {
        assert.equal(line.runbook ?? 'three-steps', 'three-steps', JSON.stringify(line));
        assert.ok(typeof line.time === 'string' && typeof line.level === 'string', JSON.stringify(line));
      }
      const ofRun = (msg: string) =>
        lines.filter((l) => l.msg === msg && l.runbook === 'three-steps' && l.env === 'webhooks');
      assert.equal(ofRun('run started').length, 1);
      assert.deepEqual(
        ofRun('run ended').map((l) => l.outcome),
        ['COMPLETED'],
      );
      for (const [step, host] of THREE_STEPS) {
        const starts = ofRun('step started').filter((l) => l.step === step);
        const ends = ofRun('step ended').filter((l) => l.step === step);
        assert.deepEqual(
          starts.map((l) => l.attempt),
          [1],
          step,
        );
        assert.deepEqual(
          ends.map((l) => [l.host, l.attempt, l.outcome]),
          [[host, 1, 'done']],
          step,
        );
        // Each activity of the step, with its own (Temporal) attempts.
        const acts = ofRun('activity ended').filter((l) => l.activity === 'runStepCommand' && l.host === host);
        const expected =
          step === 'first'
            ? [
                [1, 'failed'],
                [2, 'completed'],
              ]
            : [[1, 'completed']];
        assert.deepEqual(
          acts.map((l) => [l.attempt, l.outcome]),
          expected,
          step,
        );
        assert.equal(ofRun('activity started').filter((l) => l.host === host).length, expected.length, step);
      }
      // The first attempt's error is logged, its secret redacted.
      const leaked = ofRun('activity ended').find((l) => l.outcome === 'failed');
      assert.match(JSON.stringify(leaked?.error), /503 for https:\/\/api\.local\/\?token=\[redacted\]/);
      assert.ok(!worker.output().includes(SECRET), 'the secret is in the worker output');
    });

    it('logs a failed undo and the run that ended with work left, as warnings', async function () {
      const handle = await startThreeSteps(taskQueue, { failAt: 'third', failUndoAt: 'first' });
      const { result } = await ended(handle);
      assert.equal(result.state, 'FAILED_COMPENSATION');
      const lines = await linesOf(worker, handle.workflowId);
      const third = lines.find((l) => l.msg === 'step ended' && l.step === 'third');
      assert.equal(third?.outcome, 'failed');
      assert.equal(third?.level, 'warn');
      assert.match(String(third?.error), /third failed on db/);
      const undos = lines.filter((l) => l.msg === 'undo ended').map((l) => [l.step, l.host, l.outcome]);
      // Every undo registered runs, the failed step's own too (an undo is safe when its step did nothing).
      assert.deepEqual(undos, [
        ['third', 'db', 'done'],
        ['second', 'web-green', 'done'],
        ['first', 'web-blue', 'failed'],
      ]);
      const end = lines.find((l) => l.msg === 'run ended');
      assert.equal(end?.outcome, 'FAILED_COMPENSATION');
      assert.deepEqual(end?.leftToUndo, ['first']);
      assert.ok(!worker.output().includes(SECRET));
    });
  });

  describe('at WARN', function () {
    const taskQueue = uniqueQueue('logs-warn');
    let worker: WorkerProcess;
    before(async function () {
      worker = await startWorkerProcess(
        taskQueue,
        { RUNBOOK_LOG_LEVEL: 'WARN', RUNBOOK_TEST_LOG_SECRET: SECRET },
        { entry, quiet: true },
      );
    });
    after(async function () {
      await worker?.kill('SIGTERM');
    });

    it('keeps the warnings and leaves out the INFO lines', async function () {
      const handle = await startThreeSteps(taskQueue);
      assert.equal((await ended(handle)).result.state, 'COMPLETED');
      // The one warning of this run: the first step's first attempt.
      const deadline = Date.now() + 30_000;
      let lines: Line[] = [];
      while (!lines.some((l) => l.msg === 'activity ended') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        lines = parse(worker.stdout()).filter((l) => l.runId === handle.workflowId);
      }
      assert.ok(lines.some((l) => l.msg === 'activity ended' && l.level === 'warn' && l.outcome === 'failed'));
      // The SDK's own warning of that attempt is there too, in the same shape, under the same run id.
      assert.ok(
        lines.some((l) => l.msg === 'Activity failed' && l.sdkComponent === 'worker'),
        JSON.stringify(lines),
      );
      assert.deepEqual(
        lines.filter((l) => /started|step ended|run ended/.test(String(l.msg))),
        [],
      );
      assert.ok(!parse(worker.stdout()).some((l) => l.level === 'info' || l.level === 'debug'));
      assert.ok(!worker.output().includes(SECRET));
    });
  });
});
