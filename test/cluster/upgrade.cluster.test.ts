// Upgrading runbook code while runs wait, with Worker Deployment versioning on the cluster, each
// runbook as workflows/versioning.ts says: a smoke run (auto-upgrade) parked at its gate under
// build v1 is approved after build v2 (which changes smoke) became current, and ends right on
// v2 with v2's new step; a schedule's firing (the scheduled-run wrapper, pinned) that waits for
// its run under v1 ends on v1, every workflow task of it done by v1's workers; new runs of
// either start on v2.
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { failureConverterPath } from '../../src/codec/data-converter';
import { approvalSignal, type RunResult } from '../../common/shared';
import type { ScheduledRequest } from '../../src/schedules';
import { workerOptions } from '../../worker/worker-options';
import {
  atGate,
  connectionOptions,
  smokeDir,
  startTestRun,
  testClient,
  uniqueQueue,
  waitForProgress,
  workflowBundle,
} from '../helpers';
import { endOpenRuns } from './open-runs';
import { V2_STEP } from './smoke-v2';

const silent = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m) };

async function versionedWorker(
  connection: NativeConnection,
  taskQueue: string,
  deploymentName: string,
  buildId: string,
  bundle: WorkflowBundleWithSourceMap,
) {
  const worker = await Worker.create({
    connection,
    ...workerOptions(bundle),
    taskQueue,
    workerDeploymentOptions: {
      useWorkerVersioning: true,
      version: { deploymentName, buildId },
      defaultVersioningBehavior: 'AUTO_UPGRADE',
    },
  });
  return { worker, running: worker.run() };
}

/** Makes `buildId` the deployment's current version: the rollout. The version exists once its worker has polled. */
async function setCurrent(deploymentName: string, buildId: string): Promise<void> {
  // Which build runs every run is an admin's decision on the cluster.
  const client = await testClient('admin');
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await client.workflowService.setWorkerDeploymentCurrentVersion({
        namespace: 'default',
        deploymentName,
        buildId,
        identity: 'upgrade-test',
      });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function versioning(handle: WorkflowHandle): Promise<{ behavior: number; buildId?: string }> {
  const info = (await handle.describe()).raw.workflowExecutionInfo?.versioningInfo;
  return { behavior: Number(info?.behavior ?? 0), buildId: info?.deploymentVersion?.buildId ?? undefined };
}

/** The build that completed each of the run's workflow tasks, in order: the server's record of where its code ran. */
async function taskBuilds(handle: WorkflowHandle): Promise<string[]> {
  const { events } = await handle.fetchHistory();
  return (events ?? []).flatMap((e) =>
    e.workflowTaskCompletedEventAttributes
      ? [e.workflowTaskCompletedEventAttributes.deploymentVersion?.buildId ?? '']
      : [],
  );
}

// temporal.api.enums.v1.VersioningBehavior
const PINNED = 1;
const AUTO_UPGRADE = 2;

/** A schedule's firing of smoke, as the schedule starts it: the wrapper, which starts the run as its child. */
async function fireSchedule(
  taskQueue: string,
  started: WorkflowHandle[],
): Promise<{ firing: WorkflowHandle; run: WorkflowHandle }> {
  const client = await testClient();
  const request: ScheduledRequest = {
    // Not 'test': smoke takes its environment's lock, which the parked run holds there.
    scheduleId: 'smoke-locking',
    runbook: 'smoke',
    env: 'locking',
    params: {},
    createdBy: 'operator',
  };
  const firing = await client.workflow.start('scheduledRun', {
    taskQueue,
    workflowId: `smoke-locking-firing-${randomUUID().slice(0, 8)}`,
    args: [request],
  });
  started.push(firing);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const [child] = (await firing.describe()).raw.pendingChildren ?? [];
    if (child?.workflowId) {
      const run = client.workflow.getHandle(child.workflowId);
      started.push(run);
      await waitForProgress(run, atGate('go-ahead'), 'the scheduled run at its go-ahead gate');
      return { firing, run };
    }
    if (Date.now() > deadline) throw new Error(`${firing.workflowId} started no run within 60 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('upgrading runbook code while runs wait (Worker Deployment versioning)', function () {
  const title =
    'after the rollout of v2, a run parked at its gate ends on v2 (auto-upgrade), ' +
    'a waiting schedule firing ends on v1 (pinned), and new runs start on v2';
  it(title, async function () {
    const taskQueue = uniqueQueue('cluster-upgrade');
    const deploymentName = `runbook-test-${randomUUID().slice(0, 8)}`;
    const v2Bundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('./workflows-v2'),
      failureConverterPath,
      logger: silent,
    });
    const connection = await NativeConnection.connect(connectionOptions('worker'));
    const workers: { worker: Worker; running: Promise<void> }[] = [];
    const started: WorkflowHandle[] = [];
    const approve = (h: WorkflowHandle, comment?: string) =>
      h.signal(approvalSignal, { approver: 'alice', decision: 'approve', ...(comment ? { comment } : {}) });
    try {
      workers.push(await versionedWorker(connection, taskQueue, deploymentName, 'v1', await workflowBundle()));
      await setCurrent(deploymentName, 'v1');
      const parked = await startTestRun(taskQueue, { runbook: 'smoke' });
      started.push(parked);
      await waitForProgress(parked, atGate('go-ahead'), 'the go-ahead gate under v1');
      assert.deepEqual(await versioning(parked), { behavior: AUTO_UPGRADE, buildId: 'v1' });
      const scheduled = await fireSchedule(taskQueue, started);
      assert.deepEqual(await versioning(scheduled.firing), { behavior: PINNED, buildId: 'v1' });

      // The rollout: v2 starts polling and becomes current; v1 keeps running (as in a rolling upgrade).
      workers.push(await versionedWorker(connection, taskQueue, deploymentName, 'v2', v2Bundle));
      await setCurrent(deploymentName, 'v2');

      // Auto-upgrade: the parked run takes its next workflow task on v2, and v2's new step.
      await approve(parked, 'after the rollout');
      const result = (await parked.result()) as RunResult;
      assert.equal(result.state, 'COMPLETED');
      assert.deepEqual(
        result.progress.steps.map((s) => [s.name, s.status]),
        [
          ['prepare', 'done'],
          ['announce', 'done'],
          [V2_STEP, 'done'],
        ],
      );
      assert.equal((await versioning(parked)).buildId, 'v2', 'the parked run moved to v2');
      assert.equal((await taskBuilds(parked)).at(-1), 'v2', 'v2 ended the parked run');
      for (const step of ['prepare', 'announce', 'upgraded'])
        assert.ok(fs.existsSync(path.join(smokeDir(), `${parked.workflowId}.${step}`)), step);

      // Pinned: the firing waited for its run across the rollout and ends where it started.
      await approve(scheduled.run, 'the scheduled run, after the rollout');
      const scheduledResult = (await scheduled.firing.result()) as RunResult;
      assert.equal(scheduledResult.state, 'COMPLETED');
      // Its run, smoke, is auto-upgrade even as a pinned firing's child: it moved to v2 and took v2's step.
      assert.deepEqual(await versioning(scheduled.run), { behavior: AUTO_UPGRADE, buildId: 'v2' });
      assert.deepEqual(
        scheduledResult.progress.steps.map((s) => s.name),
        ['prepare', 'announce', V2_STEP],
      );
      assert.deepEqual(await versioning(scheduled.firing), { behavior: PINNED, buildId: 'v1' });
      const firingBuilds = await taskBuilds(scheduled.firing);
      assert.ok(firingBuilds.length >= 2, `workflow tasks: ${firingBuilds}`);
      assert.deepEqual(new Set(firingBuilds), new Set(['v1']), `the firing's workflow tasks ran on ${firingBuilds}`);

      // New runs start on v2: an auto-upgrade runbook, and a pinned firing (pinned to v2).
      const fresh = await startTestRun(taskQueue, { runbook: 'smoke' });
      started.push(fresh);
      await waitForProgress(fresh, atGate('go-ahead'), 'the go-ahead gate of a new run');
      assert.equal((await versioning(fresh)).buildId, 'v2', 'a new run starts on v2');
      await approve(fresh);
      const freshResult = (await fresh.result()) as RunResult;
      assert.deepEqual(
        freshResult.progress.steps.map((s) => s.name),
        ['prepare', 'announce', V2_STEP],
      );
      const freshFiring = await fireSchedule(taskQueue, started);
      assert.deepEqual(await versioning(freshFiring.firing), { behavior: PINNED, buildId: 'v2' });
      await approve(freshFiring.run);
      assert.equal(((await freshFiring.firing.result()) as RunResult).state, 'COMPLETED');
      assert.deepEqual(new Set(await taskBuilds(freshFiring.firing)), new Set(['v2']));
    } finally {
      await endOpenRuns(started);
      for (const w of workers) w.worker.shutdown();
      await Promise.allSettled(workers.map((w) => w.running));
      await connection.close();
    }
  });
});
