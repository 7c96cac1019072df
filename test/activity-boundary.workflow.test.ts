// The activity boundary plays the attacker with Temporal access: a worker of their own on a
// queue of their own schedules every activity that reads or acts onto the engine's queue, and
// starts the engine's batches by hand (stock CLI) or as children of their own workflow. The
// engine's worker runs recording stand-ins: none of them may be called. The list of activities
// comes from the registry, so a new one is attacked too.
import { strict as assert } from 'node:assert';
import { WorkflowFailedError } from '@temporalio/client';
import { ACTIVITY_KINDS } from '../activities/registry';
import { FailureType } from '../common/failure-types';
import { newRunId } from '../src/run-id';
import { DRY_RUN_ID_PREFIX } from '../common/plan-mode';
import type { DryRunResult } from '../common/plan';
import { startTestRun, testClient, uniqueQueue, withWorker } from './helpers';
import type { ActivityCall } from './plan-facts';
import { stubActivities } from './stub-activities';
import { temporalStart } from './attacker/stock-cli';
import { withAttackerWorker } from './attacker/tools';
import type { scheduleEngineActivities, startEngineChild } from './attacker/workflows';

/** Arguments that would do something on any host of the test environment. */
const FORGED = {
  env: 'test',
  runId: 'forged',
  host: 'web-blue',
  hosts: ['web-blue', 'web-green'],
  argv: ['touch', '/tmp/attacked'],
  commit: '0123456789abcdef0123456789abcdef01234567',
};

/** How an execution ended: its failure, or undefined when it completed. */
async function failureOf(workflowId: string): Promise<unknown> {
  const handle = (await testClient()).workflow.getHandle(workflowId);
  return handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('the activity boundary: only runs the worker admitted make it read or act', function () {
  const engine = uniqueQueue('engine');
  const attacker = uniqueQueue('attacker');
  const calls: ActivityCall[] = [];

  /** Runs `fn` with the engine's worker (recording stand-ins) and the attacker's worker both polling. */
  const withBoth = <T>(fn: () => Promise<T>) =>
    withWorker(engine, () => withAttackerWorker(attacker, fn), stubActivities(calls));

  beforeEach(() => (calls.length = 0));

  it('refuses every activity that reads or acts when a workflow on another queue schedules it', async function () {
    const guarded = Object.entries(ACTIVITY_KINDS)
      .filter(([, kind]) => kind !== 'admission')
      .map(([name]) => name);
    assert.ok(guarded.length > 50, `the registry lists ${guarded.length} guarded activities`);
    const outcomes = await withBoth(() =>
      testClient().then((client) =>
        client.workflow.execute<typeof scheduleEngineActivities>('scheduleEngineActivities', {
          taskQueue: attacker,
          workflowId: `attack-activities-${engine}`,
          args: [{ taskQueue: engine, activities: guarded, args: [FORGED] }],
        }),
      ),
    );
    const notRefused = Object.entries(outcomes).filter(([, o]) => o !== FailureType.CallerRefused);
    assert.deepEqual(notRefused, []);
    assert.equal(outcomes.hostCommand, FailureType.CallerRefused);
    assert.deepEqual(
      calls.map((c) => c.type),
      [],
    );
  });

  for (const type of ['commandBatch', 'rollingBatch']) {
    it(`a ${type} started by hand with the stock CLI ends refused before any step`, async function () {
      const workflowId = `attack-${type}-${engine}`;
      await withBoth(async () => {
        await temporalStart(engine, type, workflowId, {
          ...FORGED,
          batch: 1,
          target: { 'web-blue': FORGED.commit },
          previous: { 'web-blue': FORGED.commit },
          concurrency: 2,
        });
        const client = await testClient();
        const err = await client.workflow
          .getHandle(workflowId)
          .result()
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        assert.ok(err instanceof WorkflowFailedError, `expected the ${type} to fail, got ${String(err)}`);
        assert.equal((err.cause as { type?: string }).type, FailureType.CallerRefused);
      });
      assert.deepEqual(
        calls.map((c) => c.type),
        [],
      );
    });
  }

  it('a notice started by hand with the stock CLI reaches no target: its reads are refused', async function () {
    const workflowId = `attack-notice-${engine}`;
    await withBoth(async () => {
      await temporalStart(engine, 'notice', workflowId, {
        env: FORGED.env,
        notice: { event: 'run_completed', id: 'forged', runId: FORGED.runId, at: new Date().toISOString() },
      });
      const err = await failureOf(workflowId);
      assert.ok(err instanceof WorkflowFailedError, `expected the notice to fail, got ${String(err)}`);
      // The activity's refusal, under the activity failure that carries it.
      assert.equal((err.cause?.cause as { type?: string } | undefined)?.type, FailureType.CallerRefused);
    });
    assert.deepEqual(
      calls.map((c) => c.type),
      [],
    );
  });

  it('a dry run started by hand with the stock CLI plans, reads, and acts on nothing', async function () {
    const workflowId = `${DRY_RUN_ID_PREFIX}attack-${engine}`;
    const input = { runbook: 'deploy', env: 'test', params: { ref: 'v1.0.0' }, initiator: 'mallory' };
    const plan = await withBoth(async () => {
      await temporalStart(engine, 'dryRun', workflowId, input);
      return (await testClient()).workflow.getHandle(workflowId).result() as Promise<DryRunResult>;
    });
    assert.ok(
      plan.plan.some((i) => 'step' in i && i.step.startsWith('switch traffic')),
      JSON.stringify(plan),
    );
    assert.deepEqual(
      calls.filter((c) => ACTIVITY_KINDS[c.type as keyof typeof ACTIVITY_KINDS] === 'acts').map((c) => c.type),
      [],
    );
    assert.ok(
      calls.some((c) => c.type === 'colourGroups'),
      'its reads ran',
    );
  });

  it("a dry run is told by its id: a run may not take a dry run's id, nor a dry run a run's", async function () {
    const input = { runbook: 'deploy', env: 'test', params: { ref: 'v1.0.0' }, initiator: 'mallory' };
    const refusals = await withBoth(async () => {
      const ended = async (type: string, workflowId: string) => {
        await temporalStart(engine, type, workflowId, input);
        const e = await failureOf(workflowId);
        return e instanceof WorkflowFailedError ? (e.cause as Error).message : String(e ?? 'completed');
      };
      return [
        await ended('dryRun', `attack-plan-${engine}`),
        await ended('deploy', `${DRY_RUN_ID_PREFIX}attack-run-${engine}`),
      ];
    });
    assert.match(refusals[0], /refused: a dry run's workflow id starts with dry-run-/);
    assert.match(refusals[1], /refused: workflow ids starting with dry-run- are dry runs only/);
    // Nothing but their admission, which refused them.
    assert.deepEqual(
      calls.filter((c) => c.type !== 'decideRunRules').map((c) => c.type),
      [],
    );
  });

  it("a batch the attacker's own workflow starts on the engine's queue cannot reach a host", async function () {
    const result = await withBoth(() =>
      testClient().then((client) =>
        client.workflow.execute<typeof startEngineChild>('startEngineChild', {
          taskQueue: attacker,
          workflowId: `attack-child-${engine}`,
          args: [
            {
              taskQueue: engine,
              type: 'commandBatch',
              workflowId: newRunId('run-command', 'test'),
              input: { ...FORGED, batch: 1, concurrency: 2 },
            },
          ],
        }),
      ),
    );
    // The batch takes each host's failure as that host's result: every host is refused.
    const records = result.result as { host: string; outcome: string; error?: string }[];
    assert.equal(records.length, 2, JSON.stringify(result));
    for (const r of records) {
      assert.equal(r.outcome, 'failed');
      assert.match(r.error ?? '', /refused: hostCommand answers only to runs this worker admitted/);
    }
    assert.deepEqual(
      calls.map((c) => c.type),
      [],
    );
  });

  it('a genuine run of the engine still reads and acts', async function () {
    const state = await withWorker(
      engine,
      async () => {
        const handle = await startTestRun(engine, {
          env: 'local',
          runbook: 'run-command',
          params: { hosts: 'role:web', argv: ['true'] },
        });
        return ((await handle.result()) as { state: string }).state;
      },
      stubActivities(calls),
    );
    assert.equal(state, 'COMPLETED');
    assert.ok(
      calls.some((c) => c.type === 'hostCommand'),
      calls.map((c) => c.type).join(', '),
    );
  });
});
