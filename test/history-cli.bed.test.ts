// `runbook history`: the audit trail of a run, read after it closed and with no worker running,
// from the run's result and the server's event history.
import { strict as assert } from 'node:assert';
import type { WorkflowHandle } from '@temporalio/client';
import { newRunId } from '../src/run-id';
import { approvalSignal } from '../common/shared';
import type { AuditTrail } from '../cli/history';
import { atGate, runbookCli, startTestRun, testClient, uniqueQueue, waitForProgress, withWorker } from './helpers';

async function history(runId: string): Promise<{ text: string; trail: AuditTrail }> {
  const text = await runbookCli(['history', runId]);
  assert.equal(text.code, 0, text.stderr);
  const json = await runbookCli(['history', runId, '--json']);
  assert.equal(json.code, 0, json.stderr);
  return { text: text.stdout, trail: JSON.parse(json.stdout) };
}

const ISO = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';
// A step's or an undo's times as history shows them: start → end (duration).
const SPAN = `${ISO} → ${ISO} \\(\\S+\\)`;

describe('runbook history', function () {
  it('with no worker: who started a closed run, each decision (who, when, comment), timed steps', async function () {
    const taskQueue = uniqueQueue('history');
    let handle!: WorkflowHandle;
    await withWorker(taskQueue, async () => {
      handle = await startTestRun(taskQueue, { runbook: 'smoke', initiator: 'operator' });
      await waitForProgress(handle, atGate('go-ahead'));
      await handle.signal(approvalSignal, { approver: 'mallory', decision: 'approve', comment: 'me too' });
      await waitForProgress(handle, (p) => p.approvals.length === 1);
      const approved = await runbookCli([
        'approve',
        handle.workflowId,
        '--as',
        'alice',
        '--comment',
        'checked the plan',
      ]);
      assert.equal(approved.code, 0, approved.stderr);
      await handle.result();
    });
    // The worker is gone: nothing can answer a query any more.
    const { text, trail } = await history(handle.workflowId);
    assert.equal(trail.status, 'COMPLETED');
    assert.equal(trail.recordFrom, 'result');
    assert.deepEqual(
      { ...trail.started, by: undefined },
      { initiator: 'operator', runbook: 'smoke', env: 'test', params: {}, by: undefined },
    );
    assert.ok(trail.started?.by, 'the client that started it');
    assert.deepEqual(
      trail.progress?.approvals.map((a) => [a.approver, a.decision, a.via, a.comment, a.refused]),
      [
        ['mallory', 'approve', 'signal', 'me too', 'mallory is not an approver for test'],
        ['alice', 'approve', 'update', 'checked the plan', undefined],
      ],
    );
    assert.deepEqual(
      trail.progress?.steps.map((s) => [s.name, s.status, Boolean(s.startedAt && s.endedAt)]),
      [
        ['prepare', 'done', true],
        ['announce', 'done', true],
      ],
    );
    assert.deepEqual(
      trail.events.filter((e) => !e.what.startsWith('activity')).map((e) => e.what),
      ['started', 'update admission', 'signal approval', 'update approve', 'completed'],
    );
    assert.deepEqual(trail.events.find((e) => e.what === 'signal approval')?.detail, {
      approver: 'mallory',
      decision: 'approve',
      comment: 'me too',
    });

    assert.match(
      text,
      new RegExp(
        `^${handle.workflowId}: COMPLETED\\n  started ${ISO} by operator, name as typed \\(client \\S+\\): ` +
          `smoke on test with \\{\\}\\n  closed ${ISO} after `,
      ),
    );
    assert.match(text, new RegExp(`✓ step prepare: done, ${SPAN}\\n  ✓ step announce: done, ${SPAN}`));
    assert.match(text, new RegExp(`go-ahead: approved, ${ISO} → ${ISO} \\(\\S+\\); 1 of alice, bob`));
    assert.match(
      text,
      new RegExp(
        `REFUSED approve by mallory at go-ahead ${ISO} via signal: "me too" \\(mallory is not an approver for test\\)`,
      ),
    );
    assert.match(text, new RegExp(`approved by alice at go-ahead ${ISO} via update: "checked the plan"`));
    assert.match(
      text,
      new RegExp(
        `${ISO} update approve by \\S+: \\{"approver":"alice","decision":"approve","comment":"checked the plan"\\}`,
      ),
    );
  });

  it("shows a failed run's steps and undos with times, its parameters with secrets masked", async function () {
    const taskQueue = uniqueQueue('history-undo');
    let handle!: WorkflowHandle;
    await withWorker(taskQueue, async () => {
      handle = await (
        await testClient()
      ).workflow.start('threeSteps', {
        taskQueue,
        workflowId: newRunId('three-steps', 'local'),
        args: [
          {
            runbook: 'three-steps',
            env: 'local',
            params: { failAt: 'second', apiToken: 'hunter2-in-clear' },
            initiator: 'operator',
            approval: { required: 1, approvers: ['alice'], timeoutMs: 60_000 },
            mutating: false,
          },
        ],
      });
      await handle.result().catch(() => undefined);
    });
    const { text, trail } = await history(handle.workflowId);
    assert.equal(trail.status, 'FAILED');
    assert.equal(trail.progress?.state, 'COMPENSATED');
    assert.deepEqual(trail.started?.params, { failAt: 'second', apiToken: '***' });
    assert.doesNotMatch(text, /hunter2/);
    assert.match(
      text,
      new RegExp(
        `^${handle.workflowId}: COMPENSATED \\(workflow FAILED\\)\\n  ` +
          `started ${ISO} by operator, name as typed \\(client \\S+\\): ` +
          `three-steps on local with \\{"failAt":"second","apiToken":"\\*\\*\\*"\\}`,
      ),
    );
    assert.match(text, /reason: .*exited with 1/);
    assert.match(
      text,
      new RegExp(`↩ step first: compensated, ${SPAN}\\n  ↩ step second: compensated, ${SPAN} \\(.*exited with 1`),
    );
    assert.match(text, new RegExp(`↺ undo second: done, ${SPAN}\\n  ↺ undo first: done, ${SPAN}`));
    assert.match(text, /activity runStepCommand failed: ".*exited with 1/);
  });

  it("rebuilds a cancelled run from the server's events when it left no record, no worker answers", async function () {
    const taskQueue = uniqueQueue('history-cancel');
    let handle!: WorkflowHandle;
    await withWorker(taskQueue, async () => {
      handle = await startTestRun(taskQueue, { runbook: 'smoke', initiator: 'operator' });
      await waitForProgress(handle, atGate('go-ahead'));
      const cancelled = await runbookCli(['cancel', handle.workflowId]);
      assert.equal(cancelled.code, 0, cancelled.stderr);
      await handle.result().catch(() => undefined);
    });
    const { text, trail } = await history(handle.workflowId);
    assert.equal(trail.status, 'CANCELLED');
    assert.equal(trail.progress, undefined);
    assert.deepEqual(trail.started && { initiator: trail.started.initiator, runbook: trail.started.runbook }, {
      initiator: 'operator',
      runbook: 'smoke',
    });
    assert.deepEqual(
      trail.events
        .map((e) => e.what)
        .filter((w) => w !== 'update admission' && !w.startsWith('activity notifyApprovers')),
      // The run's first steps on the worker: the rules (decideRunRules), then how it takes identity (proveStart).
      [
        'started',
        'activity decideRunRules scheduled',
        'activity decideRunRules completed',
        'activity proveStart scheduled',
        'activity proveStart completed',
        'activity writeMarker scheduled',
        'activity writeMarker completed',
        'activity writeMarker scheduled',
        'activity writeMarker completed',
        'cancel requested',
        'activity removeMarker scheduled',
        'activity removeMarker completed',
        'activity removeMarker scheduled',
        'activity removeMarker completed',
        'cancelled',
      ],
    );
    assert.match(
      text,
      /no record from the run itself: it ended cancelled without a result, and no worker answered the progress query/,
    );
    assert.match(text, new RegExp(`${ISO} cancel requested by \\S+`));
  });
});
