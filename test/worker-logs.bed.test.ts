// A test-bed run's worker log: a worker process (the production entry with the test-only
// activities) runs the kernel's three-step runbook and run-command on the bed's hosts, and its
// standard output is parsed line by line. Every step has a start and an end line with the run's
// id, runbook, environment, step, host, attempt and outcome, and the bed's database password,
// which run-command's worker resolves and the command prints, appears nowhere in the log.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { cacheDir } from '../src/config';
import { newRunId } from '../src/run-id';
import { startTestRun, testClient, uniqueQueue } from './helpers';
import { trackRun } from './leftover-runs';
import { ended } from './run-ended';
import { startWorkerProcess, type WorkerProcess } from './worker-process';
import { THREE_STEPS } from './workflows';

type Line = Record<string, unknown>;

async function linesOf(worker: WorkerProcess, runId: string): Promise<Line[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const lines = worker
      .stdout()
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Line);
    const ofRun = lines.filter((l) => l.runId === runId);
    if (ofRun.some((l) => l.msg === 'run ended')) return ofRun;
    if (Date.now() > deadline) throw new Error(`no "run ended" line for ${runId}:\n${worker.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Every step of the run has its start line and its end line, with all their fields. */
function everyStepLogged(lines: Line[], runbook: string, steps: string[], hostOf: (step: string) => string): void {
  for (const step of steps) {
    const start = lines.find((l) => l.msg === 'step started' && l.step === step);
    const end = lines.find((l) => l.msg === 'step ended' && l.step === step);
    for (const line of [start, end]) {
      assert.ok(line, `${step}: ${JSON.stringify(lines)}`);
      assert.equal(line.runbook, runbook);
      assert.equal(line.env, 'local');
      assert.equal(line.attempt, 1);
    }
    assert.equal(end!.host, hostOf(step), step);
    assert.equal(end!.outcome, 'done', step);
  }
}

describe("a test-bed run's worker log", function () {
  this.timeout(240_000);
  const taskQueue = uniqueQueue('bed-logs');
  let worker: WorkerProcess;
  let secret: string;
  before(async function () {
    secret = fs.readFileSync(path.join(cacheDir(), 'testbed', 'secrets', 'db-password'), 'utf8').trim();
    worker = await startWorkerProcess(taskQueue, { RUNBOOK_LOG_LEVEL: 'INFO' }, { testActivities: true });
  });
  after(async function () {
    await worker?.kill('SIGTERM');
  });

  it('names the run, runbook, environment, step, host, attempt and outcome of every step', async function () {
    const handle: WorkflowHandle = await (
      await testClient()
    ).workflow.start('threeSteps', {
      taskQueue,
      workflowId: newRunId('three-steps', 'local'),
      args: [{ runbook: 'three-steps', env: 'local', params: {}, initiator: 'operator' }],
    });
    trackRun(handle, 'local');
    assert.equal((await ended(handle)).result.state, 'COMPLETED');
    const lines = await linesOf(worker, handle.workflowId);
    const hosts = Object.fromEntries(THREE_STEPS);
    everyStepLogged(
      lines,
      'three-steps',
      THREE_STEPS.map(([s]) => s),
      (s) => hosts[s],
    );
    const acts = lines.filter((l) => l.msg === 'activity ended' && l.activity === 'runStepCommand');
    assert.deepEqual(acts.map((l) => [l.host, l.attempt, l.outcome]).sort(), [
      ['db', 1, 'completed'],
      ['web-blue', 1, 'completed'],
      ['web-green', 1, 'completed'],
    ]);
  });

  it("keeps the bed's database password out of the log, when a command prints it", async function () {
    // The command prints the password without naming it (as test/fleet.test.ts): its hex digits
    // shifted in argv, put back on the host. The worker resolves it to redact the output.
    const [hex, shifted] = ['0123456789abcdef', 'abcdef0123456789'];
    const encoded = [...secret].map((c) => shifted[hex.indexOf(c)] ?? c).join('');
    const decode = `printf 'password: %s\\n' "$(printf '%s' "$0" | tr ${shifted} ${hex})"`;
    const handle = await startTestRun(taskQueue, {
      runbook: 'run-command',
      env: 'local',
      params: { hosts: 'web-blue', argv: ['sh', '-c', decode, encoded] },
    });
    const { result } = await ended(handle);
    assert.equal(result.state, 'COMPLETED');
    assert.match(result.progress.hosts?.[0]?.outputTail ?? '', /password: \[redacted\]/);
    const lines = await linesOf(worker, handle.workflowId);
    const steps = [...new Set(lines.filter((l) => l.msg === 'step started').map((l) => String(l.step)))];
    assert.equal(steps.length, 2, steps.join(', '));
    everyStepLogged(lines, 'run-command', steps, (s) => (s === 'select the hosts' ? 'none' : 'web-blue'));
    assert.ok(!worker.output().includes(secret), 'the database password is in the worker log');
  });

  describe('at RUNBOOK_LOG_LEVEL=WARN', function () {
    const warnQueue = uniqueQueue('bed-logs-warn');
    let quiet: WorkerProcess;
    before(async function () {
      quiet = await startWorkerProcess(warnQueue, { RUNBOOK_LOG_LEVEL: 'WARN' }, { testActivities: true, quiet: true });
    });
    after(async function () {
      await quiet?.kill('SIGTERM');
    });

    it('logs the failed step and the rolled-back run, and nothing below WARN', async function () {
      const handle = await (
        await testClient()
      ).workflow.start('threeSteps', {
        taskQueue: warnQueue,
        workflowId: newRunId('three-steps', 'local'),
        args: [{ runbook: 'three-steps', env: 'local', params: { failAt: 'second' }, initiator: 'operator' }],
      });
      trackRun(handle, 'local');
      assert.equal((await ended(handle)).result.state, 'COMPENSATED');
      const lines = await linesOf(quiet, handle.workflowId);
      const failed = lines.find((l) => l.msg === 'step ended' && l.step === 'second');
      assert.deepEqual([failed?.level, failed?.host, failed?.outcome], ['warn', 'web-green', 'failed']);
      assert.equal(lines.find((l) => l.msg === 'run ended')?.outcome, 'COMPENSATED');
      const all = quiet
        .stdout()
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as Line);
      assert.deepEqual(
        all.filter((l) => !['warn', 'error'].includes(String(l.level))),
        [],
      );
    });
  });
});
