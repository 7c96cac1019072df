// Upgrading runbook code while runs wait, with Worker Deployment versioning on the cluster: a
// run parked at its gate under build v1 is approved after build v2 (which changes that runbook)
// became current; it ends right, on v2 (smoke is auto-upgrade); new runs start on v2.
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { failureConverterPath } from '../../src/codec/data-converter';
import { approvalSignal, type RunResult } from '../../common/shared';
import { workerOptions } from '../../worker/worker-options';
import { atGate, smokeDir, startTestRun, testClient, uniqueQueue, waitForProgress, workflowBundle } from '../helpers';
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
  const client = await testClient();
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

const AUTO_UPGRADE = 2; // temporal.api.enums.v1.VersioningBehavior

describe('upgrading runbook code while runs wait (Worker Deployment versioning)', function () {
  it('a run parked at its gate under v1 ends right on v2 after the rollout, and new runs use v2', async function () {
    const taskQueue = uniqueQueue('cluster-upgrade');
    const deploymentName = `runbook-test-${randomUUID().slice(0, 8)}`;
    const v2Bundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('./workflows-v2'),
      failureConverterPath,
      logger: silent,
    });
    const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
    const workers: { worker: Worker; running: Promise<void> }[] = [];
    try {
      workers.push(await versionedWorker(connection, taskQueue, deploymentName, 'v1', await workflowBundle()));
      await setCurrent(deploymentName, 'v1');
      const parked = await startTestRun(taskQueue, { runbook: 'smoke' });
      await waitForProgress(parked, atGate('go-ahead'), 'the go-ahead gate under v1');
      assert.deepEqual(await versioning(parked), { behavior: AUTO_UPGRADE, buildId: 'v1' });

      // The rollout: v2 starts polling and becomes current; v1 keeps running (as in a rolling upgrade).
      workers.push(await versionedWorker(connection, taskQueue, deploymentName, 'v2', v2Bundle));
      await setCurrent(deploymentName, 'v2');
      await parked.signal(approvalSignal, { approver: 'alice', decision: 'approve', comment: 'after the rollout' });
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
      for (const step of ['prepare', 'announce', 'upgraded'])
        assert.ok(fs.existsSync(path.join(smokeDir(), `${parked.workflowId}.${step}`)), step);

      const fresh = await startTestRun(taskQueue, { runbook: 'smoke' });
      await waitForProgress(fresh, atGate('go-ahead'), 'the go-ahead gate of a new run');
      assert.equal((await versioning(fresh)).buildId, 'v2', 'a new run starts on v2');
      await fresh.signal(approvalSignal, { approver: 'alice', decision: 'approve' });
      const freshResult = (await fresh.result()) as RunResult;
      assert.deepEqual(
        freshResult.progress.steps.map((s) => s.name),
        ['prepare', 'announce', V2_STEP],
      );
    } finally {
      for (const w of workers) w.worker.shutdown();
      await Promise.allSettled(workers.map((w) => w.running));
      await connection.close();
    }
  });
});
