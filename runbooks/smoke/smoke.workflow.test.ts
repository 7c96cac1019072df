// The first runbook on the real dev server: approve, reject, time out, cancel, and a worker
// killed at the gate — each checked on the marker files the steps leave behind.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { approvalSignal, approveUpdate, type RunResult } from '../../common/shared';
import { FailureType } from '../../common/failure-types';
import { recordHistory } from '../../test/history-recorder';
import { failed } from '../../test/run-ended';
import {
  atGate,
  smokeDir,
  startTestRun,
  uniqueQueue,
  waitForProgress,
  withWorker,
  workflowBundle,
} from '../../test/helpers';
import { workerOptions } from '../../worker/worker-options';
import { startWorkerProcess } from '../../test/worker-process';
import { testActivities } from '../../test/activities';
import { progressLines } from '../../common/progress-view';

function markers(handle: WorkflowHandle): string[] {
  return ['prepare', 'announce'].filter((step) => fs.existsSync(path.join(smokeDir(), `${handle.workflowId}.${step}`)));
}

/** The journal lines of one run, in order: "write prepare", "remove announce", ... */
function journal(handle: WorkflowHandle): string[] {
  const file = path.join(smokeDir(), 'journal.log');
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter(([, , runId]) => runId === handle.workflowId)
    .map(([, action, , step]) => `${action} ${step}`);
}

describe('smoke runbook on the real server', function () {
  const taskQueue = uniqueQueue('smoke');

  it('completes when an approver approves from the Web UI (signal with a JSON payload)', async function () {
    await withWorker(taskQueue, async () => {
      const handle = await startTestRun(taskQueue, { runbook: 'smoke' });
      await waitForProgress(handle, atGate('go-ahead'), 'the go-ahead gate');
      await handle.signal(approvalSignal, { approver: 'alice', decision: 'approve', comment: 'looks good' });
      const result = (await handle.result()) as RunResult;
      assert.equal(result.state, 'COMPLETED');
      assert.deepEqual(
        result.progress.steps.map((s) => [s.name, s.status]),
        [
          ['prepare', 'done'],
          ['announce', 'done'],
        ],
      );
      assert.deepEqual(
        result.progress.approvals.map((a) => [a.approver, a.decision, a.comment, a.refused]),
        [['alice', 'approve', 'looks good', undefined]],
      );
      assert.equal(result.progress.gates[0].outcome, 'approved');
      assert.deepEqual(markers(handle), ['prepare', 'announce']);
      assert.deepEqual(journal(handle), ['write prepare', 'write announce']);
      await recordHistory(handle, 'smoke-approved');
    });
  });

  it('undoes the completed steps in reverse order when an approver rejects', async function () {
    await withWorker(taskQueue, async () => {
      const handle = await startTestRun(taskQueue, { runbook: 'smoke' });
      await waitForProgress(handle, atGate('go-ahead'));
      await handle.signal(approvalSignal, { approver: 'bob', decision: 'reject', comment: 'not today' });
      const { failure: cause, result } = await failed(handle, FailureType.RunbookCompensated);
      assert.match(cause.message, /rejected by bob: not today/);
      assert.equal(result?.state, 'COMPENSATED');
      assert.deepEqual(
        result?.progress.compensations.map((c) => [c.step, c.status]),
        [
          ['announce', 'done'],
          ['prepare', 'done'],
        ],
      );
      assert.deepEqual(markers(handle), []);
      assert.deepEqual(journal(handle), ['write prepare', 'write announce', 'remove announce', 'remove prepare']);
      await recordHistory(handle, 'smoke-rejected');
    });
  });

  it('undoes the completed steps in reverse order when the approval times out', async function () {
    await withWorker(taskQueue, async () => {
      const handle = await startTestRun(taskQueue, { runbook: 'smoke', approvalTimeoutMs: 1500 });
      const { failure: cause, result } = await failed(handle);
      assert.match(cause.message, /go-ahead: no decision within 2s/);
      assert.equal(result?.progress.gates[0].outcome, 'timed_out');
      assert.deepEqual(
        result?.progress.compensations.map((c) => c.step),
        ['announce', 'prepare'],
      );
      assert.deepEqual(markers(handle), []);
      assert.deepEqual(journal(handle), ['write prepare', 'write announce', 'remove announce', 'remove prepare']);
      await recordHistory(handle, 'smoke-timed-out');
    });
  });

  it('undoes the completed steps when the run is cancelled at the gate, and ends cancelled', async function () {
    await withWorker(taskQueue, async () => {
      const handle = await startTestRun(taskQueue, { runbook: 'smoke' });
      await waitForProgress(handle, atGate('go-ahead'));
      await handle.cancel();
      await assert.rejects(handle.result(), (err) => {
        assert.ok(
          err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure,
          `expected a cancellation, got ${String(err)}`,
        );
        return true;
      });
      assert.deepEqual(markers(handle), []);
      assert.deepEqual(journal(handle), ['write prepare', 'write announce', 'remove announce', 'remove prepare']);
    });
  });

  it('refuses CLI approvals (initiator, stranger, repeat) unrecorded; records refused UI signals', async function () {
    await withWorker(taskQueue, async () => {
      const handle = await startTestRun(taskQueue, { runbook: 'smoke', env: 'two-eyes' });
      await waitForProgress(handle, atGate('go-ahead'));
      const approve = (approver: string) =>
        handle.executeUpdate(approveUpdate, { args: [{ approver, decision: 'approve' }] }).catch((err: Error) => {
          throw new Error(`update refused: ${err.cause instanceof Error ? err.cause.message : err.message}`);
        });
      await assert.rejects(approve('operator'), /four eyes/);
      await assert.rejects(approve('mallory'), /mallory is not an approver for two-eyes/);
      await approve('alice');
      await assert.rejects(approve('alice'), /already decided/);
      await handle.signal(approvalSignal, { approver: 'mallory', decision: 'approve' });
      await handle.signal(approvalSignal, 'approve' as never);
      await handle.signal(approvalSignal, { approver: 'carol', decision: 'maybe' } as never);
      const waiting = await waitForProgress(
        handle,
        (p) => p.approvals.length === 4,
        'the refused signals to be recorded',
      );
      assert.equal(waiting.state, 'WAITING_APPROVAL', 'one valid approval of two must not release the gate');
      assert.deepEqual(
        waiting.approvals.map((a) => [a.approver, a.via, a.refused ?? 'counted']),
        [
          ['alice', 'update', 'counted'],
          ['mallory', 'signal', 'mallory is not an approver for two-eyes'],
          [
            'undefined',
            'signal',
            'malformed decision: expected {"approver": "...", "decision": "approve" | "reject", "comment": "..."}',
          ],
          ['carol', 'signal', 'malformed decision: "decision" must be "approve" or "reject"'],
        ],
      );
      await handle.signal(approvalSignal, { approver: 'carol', decision: 'approve' });
      const result = (await handle.result()) as RunResult;
      assert.equal(result.state, 'COMPLETED');
      await recordHistory(handle, 'smoke-two-approvals');
    });
  });

  it("tells approvers through the environment's webhook when a gate opens; the UI details show it", async function () {
    const received: unknown[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        received.push({ path: req.url, body: JSON.parse(body) });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    process.env.RUNBOOK_TEST_WEBHOOK = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=abc`;
    try {
      await withWorker(taskQueue, async () => {
        const handle = await startTestRun(taskQueue, { runbook: 'smoke', env: 'two-eyes' });
        const waiting = await waitForProgress(handle, (p) => p.gates[0]?.notified === 'sent', 'the webhook to be sent');
        assert.equal(received.length, 1);
        const { path: hookPath, body } = received[0] as { path: string; body: Record<string, unknown> };
        assert.equal(hookPath, '/hook?token=abc');
        assert.deepEqual(
          {
            event: body.event,
            runId: body.runId,
            gate: body.gate,
            required: body.required,
            approvers: body.approvers,
            deadline: body.deadline,
          },
          {
            event: 'approval_requested',
            runId: handle.workflowId,
            gate: 'go-ahead',
            required: 2,
            approvers: ['alice', 'bob', 'carol'],
            deadline: waiting.gate?.deadline,
          },
        );
        const { currentDetails } = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
        // The Web UI's details are the status view in Markdown, with the signal to send.
        assert.match(
          currentDetails,
          new RegExp(
            /- ⏸ gate go-ahead: waiting for 2 approval\(s\) from alice, bob, carol until .*\n/.source +
              /  - 0\/2 approvals so far; to decide, send the signal `approval`/.source,
          ),
        );
        const history = JSON.stringify(await handle.fetchHistory());
        assert.ok(!history.includes('token=abc'), 'the webhook URL stays on the worker');
        await handle.cancel();
        await assert.rejects(handle.result());
      });
    } finally {
      server.close();
    }
  });

  it('finishes with no step run twice when its worker is killed at the gate and another takes over', async function () {
    const queue = uniqueQueue('smoke-restart');
    const first = await startWorkerProcess(queue);
    const handle = await startTestRun(queue, { runbook: 'smoke' });
    await waitForProgress(handle, atGate('go-ahead'));
    await first.kill('SIGKILL');
    const second = await startWorkerProcess(queue);
    try {
      await handle.signal(approvalSignal, { approver: 'alice', decision: 'approve' });
      const result = (await handle.result()) as RunResult;
      assert.equal(result.state, 'COMPLETED');
      assert.deepEqual(journal(handle), ['write prepare', 'write announce']);
      assert.deepEqual(markers(handle), ['prepare', 'announce']);
    } finally {
      await second.kill('SIGTERM');
    }
    assert.equal(second.exitCode(), 0, `the worker should stop cleanly on SIGTERM; its output:\n${second.output()}`);
  });

  it('runs a step again when every attempt lost its worker, instead of rolling back', async function () {
    // As the server sees a worker that died mid-step: the attempt stops heartbeating. Here the
    // worker lives but goes silent (no liveness heartbeat) for prepare's first three attempts,
    // all the step has; before, the run rolled back. The worker's late answers are refused.
    const calls: string[] = [];
    const activities = {
      ...testActivities,
      writeMarker: async (input: Parameters<typeof testActivities.writeMarker>[0]) => {
        calls.push(input.step);
        if (input.step === 'prepare' && calls.length <= 3) await new Promise((r) => setTimeout(r, 12_000));
        return testActivities.writeMarker(input);
      },
    };
    const taskQueue = uniqueQueue('smoke-silent-worker');
    const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
    try {
      const worker = await Worker.create({
        connection,
        ...workerOptions(await workflowBundle()),
        taskQueue,
        activities,
        interceptors: { activity: [] },
      });
      await worker.runUntil(async () => {
        const handle = await startTestRun(taskQueue, { runbook: 'smoke' });
        const atGo = await waitForProgress(handle, atGate('go-ahead'), 'the go-ahead gate');
        assert.equal(atGo.steps[0].lostWorkers, 1);
        const shown = progressLines(atGo, { runId: handle.workflowId, decide: 'cli' }).map((l) => l.text);
        assert.ok(
          shown.some((l) => /step prepare: done,( unchanged,)? run again after its worker was lost/.test(l)),
          shown.join('\n'),
        );
        await handle.signal(approvalSignal, { approver: 'alice', decision: 'approve' });
        const result = (await handle.result()) as RunResult;
        assert.equal(result.state, 'COMPLETED');
        assert.deepEqual(calls, ['prepare', 'prepare', 'prepare', 'prepare', 'announce']);
        assert.deepEqual(markers(handle), ['prepare', 'announce']);
      });
    } finally {
      await connection.close();
    }
  });
});
