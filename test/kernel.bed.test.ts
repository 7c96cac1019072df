// The kernel on the test bed: a three-step runbook (test/workflows.ts) failed at each step,
// with a failing undo, and with its worker killed during each step.
import { strict as assert } from 'node:assert';
import type { WorkflowHandle } from '@temporalio/client';
import { runCommand } from '../activities/hosts';
import { newRunId } from '../src/run-id';
import { runbookCli, testClient, uniqueQueue, waitForProgress, withWorker } from './helpers';
import { ended } from './run-ended';
import { FailureType } from '../common/failure-types';
import { RunbookStateKey } from '../common/shared';
import { startWorkerProcess } from './worker-process';
import { KERNEL_TEST_DIR, THREE_STEPS, type ThreeStepParams } from './workflows';

const STEPS = THREE_STEPS.map(([step]) => step);

async function startThreeSteps(taskQueue: string, params: ThreeStepParams): Promise<WorkflowHandle> {
  const runId = newRunId('three-steps', 'local');
  return (await testClient()).workflow.start('threeSteps', {
    taskQueue,
    workflowId: runId,
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

/** What each step left on its host: its file, and its journal lines ("do", "undo"). */
async function onHosts(runId: string): Promise<Record<string, { file: boolean; journal: string[] }>> {
  const seen: Record<string, { file: boolean; journal: string[] }> = {};
  for (const [step, host] of THREE_STEPS) {
    const key = `${runId}.${step}`;
    const file =
      (await runCommand({ env: 'local', host, argv: ['test', '-e', `${KERNEL_TEST_DIR}/${key}`], okExitCodes: [0, 1] }))
        .exitCode === 0;
    const journal = (
      await runCommand({ env: 'local', host, argv: ['sh', '-c', `cat ${KERNEL_TEST_DIR}/journal 2>/dev/null || true`] })
    ).stdout
      .split('\n')
      .filter((l) => l.endsWith(` ${key}`))
      .map((l) => l.split(' ')[0]);
    seen[step] = { file, journal };
  }
  return seen;
}

describe('kernel on the test bed: a three-step runbook', function () {
  const taskQueue = uniqueQueue('kernel');

  it('completes with every step done once and its change on its host', async function () {
    await withWorker(taskQueue, async () => {
      const handle = await startThreeSteps(taskQueue, {});
      const { result } = await ended(handle);
      assert.equal(result.state, 'COMPLETED');
      assert.deepEqual(
        result.progress.steps.map((s) => [s.name, s.status]),
        STEPS.map((s) => [s, 'done']),
      );
      assert.deepEqual(await onHosts(handle.workflowId), {
        first: { file: true, journal: ['do'] },
        second: { file: true, journal: ['do'] },
        third: { file: true, journal: ['do'] },
      });
    });
  });

  for (const failAt of STEPS) {
    it(`failing at ${failAt}: undoes it and every step before it, newest first, and nothing after`, async function () {
      await withWorker(taskQueue, async () => {
        const handle = await startThreeSteps(taskQueue, { failAt });
        const { result, failure } = await ended(handle);
        const reached = STEPS.slice(0, STEPS.indexOf(failAt) + 1);
        assert.equal(failure?.type, FailureType.RunbookCompensated);
        assert.equal(result.state, 'COMPENSATED');
        assert.match(result.progress.reason ?? '', new RegExp(`exited with 1`));
        assert.deepEqual(
          result.progress.steps.map((s) => [s.name, s.status]),
          reached.map((s) => [s, 'compensated']),
        );
        assert.deepEqual(
          result.progress.compensations.map((c) => [c.step, c.status]),
          [...reached].reverse().map((s) => [s, 'done']),
        );
        const hosts = await onHosts(handle.workflowId);
        for (const step of STEPS) {
          const expected = !reached.includes(step) ? [] : step === failAt ? ['do', 'do', 'undo'] : ['do', 'undo'];
          assert.deepEqual(hosts[step], { file: false, journal: expected }, `${step} on its host`);
        }
      });
    });
  }

  it('reports a failing undo as left to do by hand, and still runs the other undos', async function () {
    await withWorker(taskQueue, async () => {
      const handle = await startThreeSteps(taskQueue, { failAt: 'third', failUndoAt: 'second' });
      const { result, failure } = await ended(handle);
      assert.equal(failure?.type, FailureType.RunbookFailedCompensation);
      assert.match(failure?.message ?? '', /left to undo by hand: second$/);
      assert.equal(result.state, 'FAILED_COMPENSATION');
      assert.deepEqual(result.progress.leftToUndo, ['second']);
      assert.deepEqual(
        result.progress.compensations.map((c) => [c.step, c.status]),
        [
          ['third', 'done'],
          ['second', 'failed'],
          ['first', 'done'],
        ],
      );
      const hosts = await onHosts(handle.workflowId);
      assert.deepEqual([hosts.first.file, hosts.second.file, hosts.third.file], [false, true, false]);
    });
  });

  it('after a point of no return, a failure undoes only later steps and ends SETTLED_THEN_FAILED', async function () {
    await withWorker(taskQueue, async () => {
      const handle = await startThreeSteps(taskQueue, { failAt: 'third', settleAfter: 'first' });
      const { result, failure } = await ended(handle);
      assert.equal(failure?.type, FailureType.RunbookSettledThenFailed);
      assert.equal(result.state, 'SETTLED_THEN_FAILED');
      assert.match(
        failure?.message ?? '',
        /^settled then failed: first is done for good stands; third: .*exited with 1/,
      );
      assert.deepEqual(
        result.progress.steps.map((s) => [s.name, s.status]),
        [
          ['first', 'done'],
          ['second', 'compensated'],
          ['third', 'compensated'],
        ],
      );
      assert.deepEqual(
        result.progress.compensations.map((c) => [c.step, c.status]),
        [
          ['third', 'done'],
          ['second', 'done'],
        ],
        'undos registered after the settle point still run',
      );
      const f = result.progress.settledFailure;
      assert.equal(f?.stands, 'first is done for good');
      assert.equal(f?.failedStep, 'third');
      assert.match(f?.error ?? '', /exited with 1/);
      assert.deepEqual(f?.todo, ['look at third on its host']);
      const hosts = await onHosts(handle.workflowId);
      assert.deepEqual(
        [hosts.first.file, hosts.second.file, hosts.third.file],
        [true, false, false],
        'the settled step stands on its host',
      );

      // Every view says so: watch (exit code 6), status, history, and the search attribute.
      const watched = await runbookCli(['watch', handle.workflowId]);
      assert.equal(watched.code, 6, watched.stderr);
      assert.match(watched.stdout, /the change stands: first is done for good/);
      assert.match(watched.stdout, /then third failed: .*exited with 1/);
      assert.match(watched.stdout, /left for you:\n\s*look at third on its host/);
      assert.match(watched.stdout, /SETTLED_THEN_FAILED \(workflow FAILED\), exit code 6/);
      for (const command of ['status', 'history']) {
        const shown = await runbookCli([command, handle.workflowId]);
        assert.equal(shown.code, 0, shown.stderr);
        assert.match(shown.stdout, /SETTLED_THEN_FAILED/, command);
        assert.match(
          shown.stdout,
          new RegExp(
            /the change stands: first is done for good[^]*then third failed[^]*/.source +
              /left for you:\n\s+look at third on its host/.source,
          ),
          command,
        );
      }
      const listed = await (await testClient()).workflow.getHandle(handle.workflowId).describe();
      assert.equal(listed.typedSearchAttributes.get(RunbookStateKey), 'SETTLED_THEN_FAILED');
      const ui = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
      assert.match(
        ui.currentDetails ?? '',
        new RegExp(
          /SETTLED_THEN_FAILED\*\*[^]*- the change stands: first is done for good[^]*/.source +
            /left for you:\n  - look at third on its host/.source,
        ),
        'the Web UI summary',
      );
    });
  });

  for (const killedIn of STEPS) {
    it(`finishes right, no step acting twice, when its worker is SIGKILLed during ${killedIn}`, async function () {
      const queue = uniqueQueue(`kill-${killedIn}`);
      const first = await startWorkerProcess(queue, {}, { testActivities: true });
      let second;
      try {
        const handle = await startThreeSteps(queue, { stepSeconds: 1.5 });
        await waitForProgress(
          handle,
          (p) => p.steps.some((s) => s.name === killedIn && s.status === 'running'),
          `${killedIn} to start`,
        );
        await first.kill('SIGKILL');
        second = await startWorkerProcess(queue, {}, { testActivities: true });
        const { result } = await ended(handle);
        assert.equal(result.state, 'COMPLETED');
        const hosts = await onHosts(handle.workflowId);
        assert.deepEqual(
          Object.values(hosts).map((h) => h.journal),
          [['do'], ['do'], ['do']],
          'each step acted exactly once',
        );
      } finally {
        await first.kill('SIGKILL');
        await second?.kill('SIGTERM');
      }
    });
  }
});
