// `runbook watch` and `runbook start --follow`: a run followed live, on a real terminal (tmux),
// piped, and as JSON lines; the exit code says how the run ended.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { projectRoot } from '../src/config';
import { runUrl } from '../cli/output';
import { newRunId } from '../src/run-id';
import { atGate, runbookCli, startTestRun, testClient, uniqueQueue, waitForProgress, withWorker } from './helpers';
import { openTerminal } from './terminal';
import type { ThreeStepParams } from './workflows';

const CLI = path.join(projectRoot, 'dist', 'cli', 'main.js');

/** The three-step runbook of test/workflows.ts, on the test bed's hosts. */
async function startThreeSteps(taskQueue: string, params: ThreeStepParams): Promise<WorkflowHandle> {
  return (await testClient()).workflow.start('threeSteps', {
    taskQueue,
    workflowId: newRunId('three-steps', 'local'),
    args: [
      {
        runbook: 'three-steps',
        env: 'local',
        params,
        initiator: 'operator',
        approval: { required: 1, approvers: ['alice'], timeoutMs: 60_000 },
        mutating: false,
      },
    ],
  });
}

const stepLine = (step: string, status: string) => new RegExp(`step ${step}: ${status}`);

describe('runbook watch', function () {
  it('on a terminal, redraws each step as it runs, then the undos; exits 1 when the run is undone', async function () {
    const taskQueue = uniqueQueue('watch-tty');
    await withWorker(taskQueue, async () => {
      const handle = await startThreeSteps(taskQueue, { stepSeconds: 2, failAt: 'third' });
      const term = await openTerminal([process.execPath, CLI, 'watch', handle.workflowId], {});
      try {
        const screens = await term.waitFor((s) => /\[exit \d+\]/.test(s), 'the watch to end');
        const last = screens[screens.length - 1];
        // Seen while it happened: each later step running after the ones before it were done.
        assert.ok(
          screens.some((s) => /▶ step second: running for /.test(s) && /✓ step first: done in /.test(s)),
          `second was never shown running:\n${screens.join('\n---\n')}`,
        );
        assert.ok(
          screens.some((s) =>
            [/▶ step third: running for /, /✓ step first: done/, /✓ step second: done/].every((r) => r.test(s)),
          ),
          `third was never shown running:\n${screens.join('\n---\n')}`,
        );
        // The end: the failure, every undo newest first, the outcome and its exit code.
        assert.match(last, /: COMPENSATED/);
        for (const step of ['first', 'second', 'third']) assert.match(last, stepLine(step, 'compensated'));
        assert.match(last, /↺ undo third: done in \S+\n.*↺ undo second: done in \S+\n.*↺ undo first: done in /);
        // (Lines are cut to the terminal's width, so the long command in the reason ends early.)
        assert.match(last, /step third: compensated in \S+ \(Activity task failed: local\/db: /);
        assert.match(last, /reason: Activity task failed: local\/db: /);
        assert.match(last, new RegExp(`${handle.workflowId}: COMPENSATED \\(workflow FAILED\\), exit code 1`));
        assert.match(last, /\[exit 1\]$/);
        // Redrawn in place, not scrolled: every step appears once on the final screen.
        assert.equal(last.match(/step first:/g)?.length, 1, last);
      } finally {
        await term.close();
      }
    });
  });

  it('on a terminal, shows the open gate, approve command and Web UI address; exits 0 if approved', async function () {
    const taskQueue = uniqueQueue('watch-gate');
    await withWorker(taskQueue, async () => {
      const handle = await startTestRun(taskQueue, { runbook: 'smoke', initiator: 'operator' });
      const runId = handle.workflowId;
      const term = await openTerminal([process.execPath, CLI, 'watch', runId], {});
      try {
        const command = `runbook approve ${runId} --as alice`;
        const atGateScreen = (await term.waitFor((s) => s.includes(command), 'the gate and its command')).pop()!;
        assert.match(atGateScreen, /WAITING_APPROVAL/);
        assert.match(
          atGateScreen,
          new RegExp(
            /✓ step prepare: done in \S+\n.*✓ step announce: done in \S+\n.*/.source +
              /⏸ gate go-ahead: waiting for 1 approval\(s\) from alice, bob/.source,
          ),
        );
        assert.ok(atGateScreen.includes(`or in the Web UI: ${runUrl('default', runId)}`), atGateScreen);

        const approved = await runbookCli(['approve', runId, '--as', 'alice', '--comment', 'go']);
        assert.equal(approved.code, 0, approved.stderr);
        const last = (await term.waitFor((s) => /\[exit \d+\]/.test(s), 'the watch to end')).pop()!;
        assert.match(last, /✓ gate go-ahead: approved in /);
        assert.match(last, /approved by alice at go-ahead .* via update: "go"/);
        assert.match(last, new RegExp(`${runId}: COMPLETED, exit code 0`));
        assert.match(last, /\[exit 0\]$/);
        assert.doesNotMatch(last, /runbook approve/, 'the closed gate no longer asks for a decision');
      } finally {
        await term.close();
      }
    });
  });

  it('piped, prints each change once as a plain line', async function () {
    const taskQueue = uniqueQueue('watch-lines');
    await withWorker(taskQueue, async () => {
      const handle = await startTestRun(taskQueue, { runbook: 'smoke', initiator: 'operator' });
      const watching = runbookCli(['watch', handle.workflowId]);
      await waitForProgress(handle, atGate('go-ahead'));
      // Give the watcher a poll at the gate before deciding.
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await runbookCli(['approve', handle.workflowId, '--as', 'bob'])).code, 0);
      const ran = await watching;
      assert.equal(ran.code, 0, ran.stderr);
      assert.doesNotMatch(ran.stdout, /\x1b/, 'no terminal escapes when piped');
      const lines = ran.stdout.trim().split('\n');
      for (const expected of [
        /^✓ step prepare: done in /,
        /^✓ step announce: done in /,
        /^⏸ gate go-ahead: waiting/,
        /^approve: runbook approve /,
        /^✓ gate go-ahead: approved in /,
        /^· approved by bob/,
      ]) {
        assert.equal(lines.filter((l) => expected.test(l)).length, 1, `${expected} once in:\n${ran.stdout}`);
      }
      assert.equal(lines[lines.length - 1], `${handle.workflowId}: COMPLETED, exit code 0`);
    });
  });

  it('start --follow --json prints JSON lines to the outcome, and exits 1 when the run is rejected', async function () {
    const taskQueue = uniqueQueue('watch-json');
    await withWorker(taskQueue, async () => {
      const following = runbookCli(['start', 'smoke', '--env', 'test', '--as', 'operator', '--follow', '--json'], {
        RUNBOOK_TASK_QUEUE: taskQueue,
      });
      // The run id is not known until the CLI prints it: find the run that is at its gate.
      const client = await testClient();
      let runId: string | undefined;
      const deadline = Date.now() + 60_000;
      while (!runId) {
        assert.ok(Date.now() < deadline, 'no run started');
        for await (const wf of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) runId = wf.workflowId;
        if (!runId) await new Promise((r) => setTimeout(r, 200));
      }
      const handle = client.workflow.getHandle(runId);
      await waitForProgress(handle, atGate('go-ahead'));
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await runbookCli(['reject', runId, '--as', 'alice', '--comment', 'not now'])).code, 0);
      const ran = await following;
      assert.equal(ran.code, 1, ran.stderr);
      const events = ran.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.deepEqual(events[0], {
        event: 'started',
        runId,
        runbook: 'smoke',
        env: 'test',
        url: runUrl('default', runId),
      });
      assert.ok(events.slice(1, -1).every((e) => e.event === 'progress' && e.runId === runId));
      assert.ok(
        events.some((e) => e.progress?.state === 'WAITING_APPROVAL'),
        'the gate was reported',
      );
      const outcome = events[events.length - 1];
      assert.equal(outcome.event, 'outcome');
      assert.equal(outcome.exitCode, 1);
      assert.equal(outcome.state, 'COMPENSATED');
      assert.deepEqual(
        outcome.progress.compensations.map((c: { step: string; status: string }) => [c.step, c.status]),
        [
          ['announce', 'done'],
          ['prepare', 'done'],
        ],
      );
    });
  });
});
