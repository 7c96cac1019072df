// Runbooks on the PostgreSQL-backed Temporal cluster with several worker processes: a worker lost
// mid-step is retried on another after the step's heartbeat timeout (and watch and history say
// so; what it costs in seconds is `npm run bench`'s figure), runs on several environments at once
// survive workers SIGKILLed at random and the server restarted under them, and schedules fire.
import { strict as assert } from 'node:assert';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkedOutCommit, colours } from '../../activities';
import { runCommand } from '../../activities/hosts';
import { cluster } from '../../dev/cluster';
import { newRunId } from '../../src/run-id';
import { approvalSignal, progressQuery, type RunResult } from '../../common/shared';
import { served } from '../bed-checks';
import { runbookCli, smokeDir, startTestRun, testClient, uniqueQueue, withWorker } from '../helpers';
import { KERNEL_TEST_DIR, THREE_STEPS } from '../workflows';
import { endOpenRuns } from './open-runs';
import { retriedAttempts } from './retried-attempts';
import { WorkerPool, workerRunningAStep } from './worker-pool';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function outcome(handle: WorkflowHandle): Promise<RunResult> {
  try {
    return (await handle.result()) as RunResult;
  } catch (err) {
    if (err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure) {
      return err.cause.details?.[0] as RunResult;
    }
    throw err;
  }
}

/** Each step's journal lines on its host for one threeSteps run ("do" once = acted once). */
async function hostJournal(runId: string): Promise<string[][]> {
  const out: string[][] = [];
  for (const [step, host] of THREE_STEPS) {
    const key = `${runId}.${step}`;
    const text = (
      await runCommand({ env: 'local', host, argv: ['sh', '-c', `cat ${KERNEL_TEST_DIR}/journal 2>/dev/null || true`] })
    ).stdout;
    out.push(
      text
        .split('\n')
        .filter((l) => l.endsWith(` ${key}`))
        .map((l) => l.split(' ')[0]),
    );
  }
  return out;
}

/** What the load balancer points at and which colours run: for a failure message. */
async function bedState(): Promise<string> {
  const on = async (host: string, argv: string[]) =>
    (await runCommand({ env: 'local', host, argv, okExitCodes: [0, 1, 3] })).stdout.trim();
  const upstream = await on('lb', ['grep', 'server', '/etc/nginx/conf.d/upstream.conf']);
  const apps = await Promise.all(
    ['web-blue', 'web-green'].map(async (h) => `${h}: ${await on(h, ['supervisorctl', 'status', 'app'])}`),
  );
  return `at ${new Date().toISOString()}: upstream ${upstream}; ${apps.join('; ')}`;
}

async function startThreeSteps(taskQueue: string, stepSeconds: number): Promise<WorkflowHandle> {
  const runId = newRunId('three-steps', 'local');
  return (await testClient()).workflow.start('threeSteps', {
    taskQueue,
    workflowId: runId,
    args: [
      {
        runbook: 'three-steps',
        env: 'local',
        params: { stepSeconds, asProduction: true },
        initiator: 'operator',
        approval: { required: 1, approvers: ['alice'], timeoutMs: 600_000 },
        mutating: false,
      },
    ],
  });
}

describe('runbooks on the Temporal cluster (PostgreSQL) with several workers', function () {
  const lostWorker =
    'a worker SIGKILLed mid-step: the attempt is lost by its heartbeat timeout and retried on another worker, ' +
    'the step acts once, and watch and history say so';
  it(lostWorker, async function () {
    const pool = new WorkerPool(uniqueQueue('cluster-lost'));
    const started: WorkflowHandle[] = [];
    try {
      await pool.start(2);
      const env = { RUNBOOK_TASK_QUEUE: pool.taskQueue };
      // Each step's command sleeps on its host for longer than the heartbeat timeout: the killed
      // attempt's command goes on there, the retry waits for it (the marker's lock) and then
      // finds its marker, and meanwhile watch sees the retry running.
      const handle = await startThreeSteps(pool.taskQueue, 25);
      started.push(handle);
      const watching = runbookCli(['watch', handle.workflowId], env);
      let killed: number | undefined;
      const deadline = Date.now() + 120_000;
      while (killed === undefined && Date.now() < deadline) {
        const running = await workerRunningAStep(handle, pool);
        if (running?.activity === 'runStepCommand')
          killed = await pool.killAndReplace('running the first step', running.pid);
        else await sleep(50);
      }
      assert.ok(killed !== undefined, 'the first step started on one of our workers');

      const result = await outcome(handle);
      assert.equal(result.state, 'COMPLETED', result.progress.reason);
      // Acted once: one "do" per step in its host's journal, the lost attempt's included.
      assert.deepEqual(await hostJournal(handle.workflowId), [['do'], ['do'], ['do']]);

      // The server's record: the killed step, and only it, ran a second attempt, on another
      // worker, because its heartbeat stopped: the lost attempt ended by the heartbeat timeout
      // the step declares, which is shorter than its start-to-close timeout, the one a step
      // without a heartbeat would have waited out.
      const retried = await retriedAttempts(handle);
      assert.equal(retried.length, 1, JSON.stringify(retried));
      const [retry] = retried;
      assert.deepEqual(
        { activity: retry.activity, attempt: retry.attempt, lastTimeout: retry.lastTimeout },
        { activity: 'runStepCommand', attempt: 2, lastTimeout: 'HEARTBEAT' },
      );
      const retriedBy = retry.identity.split('@')[0];
      assert.notEqual(Number(retriedBy), killed, 'the retry ran on another worker');
      assert.ok(
        retry.heartbeatTimeoutMs > 0 && retry.heartbeatTimeoutMs < retry.startToCloseTimeoutMs,
        JSON.stringify(retry),
      );

      const watched = await watching;
      assert.equal(watched.code, 0, watched.stderr);
      assert.match(
        watched.stdout,
        new RegExp(
          `↻ runStepCommand: attempt 2 of 3 running on worker ${retriedBy}@\\S+ ` +
            `\\(attempt 1 ended: activity Heartbeat timeout\\)`,
        ),
      );
      const history = await runbookCli(['history', handle.workflowId], env);
      assert.equal(history.code, 0, history.stderr);
      assert.match(
        history.stdout,
        new RegExp(
          `activity runStepCommand retried: attempt 2 by ${retriedBy}@\\S+: ` +
            `"attempt 1 ended: activity Heartbeat timeout"`,
        ),
      );
    } finally {
      await endOpenRuns(started);
      await pool.stop();
    }
  });

  it('runs on several envs end right, no step twice, through worker SIGKILLs and a server restart', async function () {
    const pool = new WorkerPool(uniqueQueue('cluster-chaos'));
    const started: WorkflowHandle[] = [];
    try {
      await pool.start(3);
      const q = pool.taskQueue;
      const before = await colours({ env: 'local' });
      const runs = {
        deploy: await startTestRun(q, {
          runbook: 'deploy',
          env: 'local',
          params: { ref: 'v1.1.0', gate: true, 'rollback-window': '2s' },
        }),
        backup: await startTestRun(q, { runbook: 'backup', env: 'secret-use', params: {} }),
        smokeTest: await startTestRun(q, { runbook: 'smoke', env: 'test' }),
        smokeLocking: await startTestRun(q, { runbook: 'smoke', env: 'locking' }),
        steps1: await startThreeSteps(q, 1),
        steps2: await startThreeSteps(q, 2),
      };
      const handles = Object.values(runs);
      started.push(...handles);
      const closed = new Set<string>();
      const approved = new Set<string>();
      let restarted = false;
      let nextKill = Date.now() + 3000 + Math.random() * 4000;
      const deadline = Date.now() + 8 * 60_000;
      while (closed.size < handles.length) {
        assert.ok(
          Date.now() < deadline,
          `runs still open after 8 minutes: ` +
            `${handles.filter((h) => !closed.has(h.workflowId)).map((h) => h.workflowId)}`,
        );
        for (const h of handles) {
          if (closed.has(h.workflowId)) continue;
          const { status } = await h.describe();
          if (status.name !== 'RUNNING') {
            closed.add(h.workflowId);
            continue;
          }
          // Gates are approved only after the server restart: the runs parked at them stay open
          // across it, however quickly the steps before them went (once, all six had ended before
          // the second kill, the one the restart follows).
          if (approved.has(h.workflowId) || !restarted) continue;
          const p = await h.query(progressQuery).catch(() => undefined);
          if (p?.gate) {
            await h.signal(approvalSignal, { approver: 'alice', decision: 'approve', comment: 'chaos test' });
            approved.add(h.workflowId);
          }
        }
        if (Date.now() >= nextKill && pool.killed.length < 5) {
          // Prefer a worker in the middle of a step: that is the kill that costs a retry.
          const open = handles.filter((h) => !closed.has(h.workflowId));
          const busy = open.length
            ? await workerRunningAStep(open[Math.floor(Math.random() * open.length)], pool)
            : undefined;
          await pool.killAndReplace(busy ? `running ${busy.activity}` : 'at random', busy?.pid);
          nextKill = Date.now() + 4000 + Math.random() * 6000;
          if (pool.killed.length === 2 && !restarted) {
            await cluster(['restart-server'], 180_000);
            restarted = true;
          }
        }
        await sleep(300);
      }
      assert.ok(restarted, 'the server was restarted during the runs');
      console.log(`      (${pool.killed.length} workers SIGKILLed: ${pool.killed.map((k) => k.why).join('; ')})`);

      const results = Object.fromEntries(
        await Promise.all(Object.entries(runs).map(async ([k, h]) => [k, await outcome(h)] as const)),
      );
      for (const [k, r] of Object.entries(results))
        assert.equal(r.state, 'COMPLETED', `${k}: ${r.state} ${r.progress.reason ?? ''}`);
      // The deploy: the new colour serves, the old one was switched away from once.
      assert.deepEqual(
        await served(),
        { status: 200, commit: await checkedOutCommit({ env: 'local', host: before.idle }) },
        await bedState(),
      );
      assert.deepEqual(await colours({ env: 'local' }), { live: before.idle, idle: before.live });
      // Each host step acted exactly once, however often its activity ran.
      for (const h of [runs.steps1, runs.steps2])
        assert.deepEqual(await hostJournal(h.workflowId), [['do'], ['do'], ['do']], h.workflowId);
      // The smoke runs' markers: each written once (a retry finds it and changes nothing).
      for (const [h, env] of [
        [runs.smokeTest, 'test'],
        [runs.smokeLocking, 'locking'],
      ] as const) {
        for (const step of ['prepare', 'announce'])
          assert.ok(fs.existsSync(path.join(smokeDir(env), `${h.workflowId}.${step}`)), `${env} ${step}`);
      }
      assert.deepEqual(
        results.backup.progress.steps.map((s) => s.status),
        ['done', 'done', 'done'],
      );
    } finally {
      await endOpenRuns(started);
      await pool.stop();
    }
  });

  it('fires a schedule on the cluster', async function () {
    const taskQueue = uniqueQueue('cluster-schedule');
    const env = { RUNBOOK_TASK_QUEUE: taskQueue };
    const list = async () => {
      const listed = await runbookCli(['list', '--runbook', 'health-check', '--env', 'local', '--json'], env);
      assert.equal(listed.code, 0, listed.stderr);
      return JSON.parse(listed.stdout).runs as { runId: string; state?: string; status: string }[];
    };
    await withWorker(taskQueue, async () => {
      // The cluster keeps its history across suites: only runs new to this test count.
      const before = new Set((await list()).map((r) => r.runId));
      const created = await runbookCli(
        ['schedule', 'create', 'health-check', '--env', 'local', '--interval', '2s', '--as', 'alice', '--json'],
        env,
      );
      assert.equal(created.code, 0, created.stderr);
      try {
        const deadline = Date.now() + 120_000;
        let completed: string | undefined;
        while (!completed && Date.now() < deadline) {
          completed = (await list()).find((r) => !before.has(r.runId) && r.state === 'COMPLETED')?.runId;
          if (!completed) await sleep(500);
        }
        assert.ok(completed, 'a scheduled health check completed');
        const result = await outcome((await testClient()).workflow.getHandle(completed));
        // The schedule's creator starts its runs (four eyes holds against them), not the schedule.
        assert.equal(result.progress.initiator, 'alice');
      } finally {
        await runbookCli(['schedule', 'delete', 'health-check-local'], env);
      }
      // A firing still going when the schedule was deleted finishes while the worker runs.
      const deadline = Date.now() + 60_000;
      while ((await list()).some((r) => !before.has(r.runId) && r.status === 'RUNNING') && Date.now() < deadline)
        await sleep(500);
    });
  });
});
