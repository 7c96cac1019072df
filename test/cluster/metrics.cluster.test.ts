// A worker's Prometheus endpoint, scraped during real runs on the cluster: the SDK's metrics
// (pollers) beside the engine's own (runs started and ended by outcome, step durations, gates
// waiting, undo failures), as the alerts of docs/operations.md read them.
import { strict as assert } from 'node:assert';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { freePort } from '../../dev/dev-server';
import { newRunId } from '../../src/run-id';
import { approvalSignal } from '../../common/shared';
import { atGate, startTestRun, testClient, uniqueQueue, waitForProgress } from '../helpers';
import { scrape, total, type Sample } from './prometheus';
import { endOpenRuns } from './open-runs';
import { WorkerPool } from './worker-pool';

async function until(
  what: string,
  address: string,
  ok: (s: Sample[]) => boolean,
  timeoutMs = 20_000,
): Promise<Sample[]> {
  const deadline = Date.now() + timeoutMs;
  let last: Sample[] = [];
  while (Date.now() < deadline) {
    last = await scrape(address);
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(
    `metrics never showed ${what}; ` +
      `runbook_* samples: ${JSON.stringify(last.filter((s) => s.name.startsWith('runbook_')))}`,
  );
}

describe('worker metrics (Prometheus) on the cluster', function () {
  it('exposes pollers, runs, step durations, gates waiting and undo failures while runs go on', async function () {
    const address = `127.0.0.1:${await freePort()}`;
    const pool = new WorkerPool(uniqueQueue('cluster-metrics'), {
      RUNBOOK_METRICS_ADDRESS: address,
      RUNBOOK_METRICS_INTERVAL: '1',
    });
    const started: WorkflowHandle[] = [];
    try {
      await pool.start(1);
      const smoke = { runbook: 'smoke', env: 'test' };
      const handle = await startTestRun(pool.taskQueue, smoke);
      started.push(handle);
      await waitForProgress(handle, atGate('go-ahead'), 'the go-ahead gate');

      // While the run waits at its gate.
      const waiting = await until('the waiting gate', address, (s) => total(s, 'runbook_gates_waiting', smoke) >= 1);
      assert.ok(total(waiting, 'runbook_runs_started_total', smoke) >= 1);
      assert.ok(total(waiting, 'runbook_gates_opened_total', { ...smoke, gate: 'go-ahead' }) >= 1);
      assert.ok(
        total(waiting, 'runbook_step_duration_seconds_count', { ...smoke, step: 'prepare', status: 'done' }) >= 1,
      );
      assert.ok(total(waiting, 'runbook_gate_oldest_run_age_seconds', smoke) > 0);
      // The SDK's own: this worker polls the task queue (the "no worker polling" alert reads it).
      assert.ok(
        total(waiting, 'temporal_num_pollers', { task_queue: pool.taskQueue, poller_type: 'workflow_task' }) >= 1,
        `pollers: ${JSON.stringify(waiting.filter((s) => s.name === 'temporal_num_pollers'))}`,
      );

      await handle.signal(approvalSignal, { approver: 'alice', decision: 'approve' });
      await handle.result();
      const ended = await until(
        'the completed run and no gate waiting',
        address,
        (s) =>
          total(s, 'runbook_runs_ended_total', { ...smoke, outcome: 'COMPLETED' }) >= 1 &&
          total(s, 'runbook_gates_waiting', smoke) === 0,
      );
      assert.ok(
        total(ended, 'runbook_gate_wait_seconds_count', { ...smoke, gate: 'go-ahead', outcome: 'approved' }) >= 1,
      );

      // A run whose undo fails: FAILED_COMPENSATION and an undo failure, on the test bed's hosts.
      const failing = await (
        await testClient()
      ).workflow.start('threeSteps', {
        taskQueue: pool.taskQueue,
        workflowId: newRunId('three-steps', 'local'),
        args: [
          {
            runbook: 'three-steps',
            env: 'local',
            params: { failAt: 'third', failUndoAt: 'second' },
            initiator: 'operator',
            approval: { required: 1, approvers: ['alice'], timeoutMs: 60_000 },
            mutating: false,
          },
        ],
      });
      started.push(failing);
      await assert.rejects(failing.result(), WorkflowFailedError);
      const failed = await until(
        'the failed compensation',
        address,
        (s) => total(s, 'runbook_runs_ended_total', { runbook: 'three-steps', outcome: 'FAILED_COMPENSATION' }) >= 1,
      );
      assert.ok(total(failed, 'runbook_undo_failures_total', { runbook: 'three-steps', step: 'second' }) >= 1);
    } finally {
      await endOpenRuns(started);
      await pool.stop();
    }
  });
});
