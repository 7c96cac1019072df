// One renderer for a run's progress: status, watch, history and the Web UI's details show the
// same lines (skipped steps, gates, failure gates, undos), each view adding only its own means
// of deciding (CLI commands, the Web UI's signal) or its times.
import { strict as assert } from 'node:assert';
import { progressLines, progressMarkdown } from '../common/progress-view';
import type { RunProgress } from '../common/shared';
import { formatProgress } from '../cli/output';
import { retriedActivities, retryText } from '../cli/progress';

const T0 = '2026-12-01T10:00:00.000Z';
const T1 = '2026-12-01T10:00:02.500Z';

function progress(): RunProgress {
  return {
    runbook: 'deploy',
    env: 'prod',
    params: {},
    initiator: 'carol',
    state: 'WAITING_DECISION',
    steps: [
      { name: 'find the idle colour', status: 'done', startedAt: T0, endedAt: T1 },
      { name: 'rollback window (10m)', status: 'skipped', startedAt: T0, endedAt: T1, error: 'timer broke' },
      { name: 'stop web-blue', status: 'failed', startedAt: T0, endedAt: T1, error: 'exit 1' },
    ],
    gates: [
      {
        name: 'switch traffic',
        openedAt: T0,
        closedAt: T1,
        deadline: T1,
        required: 1,
        approvers: ['alice'],
        outcome: 'approved',
      },
    ],
    approvals: [{ gate: 'switch traffic', approver: 'alice', decision: 'approve', at: T1, via: 'update' }],
    failureGate: undefined,
    failureGates: [],
    compensations: [],
    leftToUndo: [],
    settled: [],
  };
}

function withOpenFailureGate(): RunProgress {
  const p = progress();
  const gate = {
    step: 'stop web-blue',
    host: 'web-blue',
    error: 'exit 1',
    skippable: false,
    outputTail: 'supervisor: ERROR\nsecond line',
    openedAt: T1,
    deadline: '2026-12-01T11:00:00.000Z',
    decisions: [],
  };
  p.failureGate = gate;
  p.failureGates = [gate];
  return p;
}

describe('progress view (one renderer for status, watch, history and the Web UI)', function () {
  const runId = 'deploy-prod-20261201T100000Z-abcd';

  it('shows every step status, a skipped one too, the same way in every view', function () {
    const p = progress();
    const watch = progressLines(p, { runId, decide: 'cli', now: Date.parse(T1) })
      .map((l) => l.text)
      .join('\n');
    const status = formatProgress(runId, p);
    const history = progressLines(p, { runId, decide: 'none', times: 'span' })
      .map((l) => l.text)
      .join('\n');
    const ui = progressMarkdown(p, { runId, decide: 'ui' });
    for (const view of [watch, status, history, ui]) {
      assert.match(view, /✓ step find the idle colour: done/);
      assert.match(view, /⤼ step rollback window \(10m\): skipped/);
      assert.match(view, /✗ step stop web-blue: failed.* \(exit 1\)/);
      assert.match(view, /✓ gate switch traffic: approved/);
      assert.match(view, /· approved by alice at switch traffic/);
    }
    assert.match(watch, /skipped in 2.5s/);
    assert.match(history, /skipped, 2026-12-01T10:00:00.000Z → 2026-12-01T10:00:02.500Z \(2.5s\)/);
  });

  it('shows an open failure gate, what failed and how to decide: CLI commands, or the Web UI signal', function () {
    const p = withOpenFailureGate();
    const status = formatProgress(runId, p);
    assert.match(status, /FAILED: stop web-blue on web-blue: exit 1/);
    assert.match(status, /\| supervisor: ERROR\n.*\| second line/);
    assert.match(status, new RegExp(`runbook retry ${runId} --as <approver>`));
    assert.match(status, new RegExp(`runbook rollback ${runId} --as <approver>`));
    assert.doesNotMatch(status, /runbook skip/);
    assert.match(status, /may not be skipped/);
    const ui = progressMarkdown(p, { runId, decide: 'ui' });
    assert.match(ui, /```\nsupervisor: ERROR\nsecond line\n```/);
    assert.match(ui, /send the signal `failure-decision` with `\{"decision": "retry" \| "rollback", "by"/);
    assert.doesNotMatch(ui, /runbook retry/);
  });

  it('keys watch lines so a changed line replaces its old self', function () {
    const keys = progressLines(withOpenFailureGate(), { runId, decide: 'cli' }).map((l) => l.key);
    assert.equal(new Set(keys).size, keys.length, `duplicate keys: ${keys.join(' ')}`);
  });
});

describe('progress view of a run that failed after its point of no return', function () {
  function settledThenFailed(): RunProgress {
    const p = progress();
    p.state = 'SETTLED_THEN_FAILED';
    p.settledFailure = {
      stands:
        'local-20261201T100000Z is restored, verified and live; ' +
        'the previous database is kept as runbook_previous_0123456789ab',
      failedStep: 'check the app through the load balancer',
      error: 'answered 502',
      todo: [
        'to put the previous database back: ' +
          'runbook start restore-previous --env prod --database runbook_previous_0123456789ab',
      ],
    };
    return p;
  }

  it('says what stands, what failed after it and what is left, in status, history and the Web UI', function () {
    const p = settledThenFailed();
    const expected = [
      'the change stands: local-20261201T100000Z is restored, verified and live; ' +
        'the previous database is kept as runbook_previous_0123456789ab ' +
        '(nothing before the point of no return was undone)',
      'then check the app through the load balancer failed: answered 502',
      'left for you:',
    ];
    const status = formatProgress('r1', p);
    for (const line of expected) assert.ok(status.includes(`  ${line}`), status);
    assert.ok(
      status.includes(
        '\n    to put the previous database back: ' +
          'runbook start restore-previous --env prod --database runbook_previous_0123456789ab',
      ),
      status,
    );
    const history = progressLines(p, { runId: 'r1', decide: 'none', times: 'span' })
      .map((l) => l.text)
      .join('\n');
    assert.ok(
      history.includes('left for you:\n    to put the previous database back: runbook start restore-previous'),
      history,
    );
    const ui = progressMarkdown(p, { runId: 'r1', decide: 'ui' });
    assert.match(ui, /^\*\*r1: deploy on prod, started by carol: SETTLED_THEN_FAILED\*\*/);
    assert.ok(
      ui.includes('- left for you:\n  - to put the previous database back: runbook start restore-previous'),
      ui,
    );
  });
});

describe("a retried step in watch (the server's pending activity)", function () {
  const pending = (state: number, lastWorkerIdentity: string) => ({
    activityType: { name: 'restartApp' },
    state,
    attempt: 2,
    maximumAttempts: 3,
    lastFailure: { message: 'activity Heartbeat timeout' },
    lastWorkerIdentity,
  });

  it("names the lost attempt's worker until another takes the retry, then the worker running it", function () {
    // PendingActivityState 1: scheduled (the retry waits); 2: started (a worker has it).
    const [waiting] = retriedActivities([pending(1, '4121@host-a')]);
    assert.equal(
      retryText(waiting),
      '↻ restartApp: attempt 2 of 3 not started yet ' +
        '(attempt 1 ended on worker 4121@host-a: activity Heartbeat timeout)',
    );
    const [running] = retriedActivities([pending(2, '4188@host-b')]);
    assert.equal(
      retryText(running),
      '↻ restartApp: attempt 2 of 3 running on worker 4188@host-b (attempt 1 ended: activity Heartbeat timeout)',
    );
  });
});
