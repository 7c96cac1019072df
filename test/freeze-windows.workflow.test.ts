// Freeze windows at a run's start, on the dev server with stub activities (the real admission,
// the real signature checks): a deploy started in a freeze is refused by the worker, whatever
// the client did, with when the window opens and nothing run; break-glass with two signed
// approvals from approvers other than the starter lets it through, and the record shows it;
// --wait-for-window waits for the window to open. The windows are placed around the test's own
// start (an hour back, two ahead; or a few seconds ahead); nothing asserts on the clock.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { stringify as stringifyYaml, parse as parseYaml } from 'yaml';
import { proveStart } from '../activities/identity/start';
import { verifySignature, verifySignatures } from '../activities/identity/verify';
import { activityKind } from '../activities/registry';
import { signStart } from '../src/identity/sign';
import { newRunId } from '../src/run-id';
import { startRun, prepareRun } from '../src/start';
import { approvalSignal, progressQuery, type RunInput, type RunProgress, type RunResult } from '../common/shared';
import { FailureType } from '../common/failure-types';
import { bedEnvironment } from './bed-inventory';
import { runbookCli, testClient, uniqueQueue, waitForProgress, withWorker } from './helpers';
import { signedDecision, signedInventory, type SignedInventory } from './identity-keys';
import type { ActivityCall } from './plan-facts';
import { stubActivities } from './stub-activities';
import { ACTIVITY_KINDS } from '../activities/registry';

const ENV = 'frozen';
const BRIEF = 'frozen-briefly';
const STARTER = 'olivia';
/** A rollback window this short is beyond the bounds: approved at a gate of its own, as in four-eyes. */
const PARAMS = { ref: 'v1.0.0', 'rollback-window': '1s' };
const REASON = 'payments are down (incident 4711): the fix cannot wait for Monday';

/** An instant as the inventory's dated windows take it: whole seconds, UTC. */
const instant = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;

function activities(calls: ActivityCall[]) {
  return { ...stubActivities(calls), proveStart, verifySignature, verifySignatures };
}

/** What a run did beyond its admission and telling people of its gates (the notices' targets). */
const acted = (calls: ActivityCall[]) =>
  calls
    .filter((c) => activityKind(c.type) !== 'admission' && !['notifyApprovers', 'noticeTargets'].includes(c.type))
    .map((c) => c.type);

describe('freeze windows at the start of a run (stub activities, real admission and signatures)', function () {
  this.timeout(240_000);
  let inv: SignedInventory;
  let opensAt: string;

  before(function () {
    const now = Date.now();
    const end = instant(now + 2 * 3_600_000);
    opensAt = new Date(end).toISOString();
    const freezes = {
      timezone: 'Europe/Paris',
      windows: [{ name: 'test-freeze', start: instant(now - 3_600_000), end }],
      exempt: ['backup'],
    };
    inv = signedInventory(ENV, [STARTER, 'alice', 'bob'], ['alice', 'bob', STARTER], 1, {
      ...bedEnvironment(ENV),
      freezes,
    });
  });
  after(() => inv?.remove());

  /** Alice approves each gate the run opens (where `which` says), until it ends. */
  async function approveEachGate(
    handle: WorkflowHandle,
    which: (p: RunProgress) => boolean = () => true,
  ): Promise<RunResult> {
    let ended = false;
    const result = (handle.result() as Promise<RunResult>).finally(() => (ended = true));
    const approved = new Set<string>();
    while (!ended) {
      const p: RunProgress | undefined = await handle.query(progressQuery).catch(() => undefined);
      if (p?.gate?.nonce && which(p) && !approved.has(p.gate.nonce)) {
        approved.add(p.gate.nonce);
        await handle.signal(approvalSignal, await signedDecision(handle, 'alice', inv.key('alice')));
      }
      await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 200))]);
    }
    return result;
  }

  /** A deploy started with the SDK, as anyone with Temporal access can: no client-side check. */
  async function rawDeploy(queue: string, env: string, asked: RunInput['asked'] = {}): Promise<WorkflowHandle> {
    const runId = newRunId('deploy', env);
    const input: RunInput = { runbook: 'deploy', env, params: PARAMS, initiator: STARTER, asked };
    input.proof = await signStart(input, runId, 'default', { as: STARTER, key: inv.key(STARTER) });
    return (await testClient()).workflow.start('deploy', { taskQueue: queue, workflowId: runId, args: [input] });
  }

  it('refuses a deploy started in a freeze, before anything runs, saying when the window opens', async function () {
    const calls: ActivityCall[] = [];
    const queue = uniqueQueue('freeze-refused');
    await withWorker(
      queue,
      async () => {
        const handle = await rawDeploy(queue, ENV);
        const err = await handle.result().then(
          () => assert.fail('a frozen deploy completed'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof WorkflowFailedError, String(err));
        const failure = err.cause as ApplicationFailure;
        assert.equal(failure.type, FailureType.Frozen);
        assert.match(failure.message, /refused: frozen is frozen for deploy \(window test-freeze\): it opens /);
        assert.ok(failure.message.includes(`(${opensAt})`), `${failure.message} names ${opensAt}`);
        assert.match(failure.message, /--wait-for-window.*--break-glass/);
        const progress = (await handle.query(progressQuery)) as RunProgress;
        assert.deepEqual([progress.state, progress.steps, progress.gates], ['REFUSED', [], []]);
        assert.deepEqual(acted(calls), [], 'nothing but the admission ran');
      },
      activities(calls),
    );
  });

  it('refuses it at the CLI too, and a break-glass where too few approvers remain', async function () {
    const key = ['--as', STARTER, '--key', inv.key(STARTER)];
    const cli = await runbookCli(['start', 'deploy', '--env', ENV, '--ref', 'v1.0.0', ...key]);
    assert.equal(cli.code, 2, cli.stdout);
    assert.match(cli.stderr, /frozen is frozen for deploy \(window test-freeze\): it opens .*Europe\/Paris/);
    const short = await runbookCli([
      'start',
      'deploy',
      '--env',
      ENV,
      '--ref',
      'v1.0.0',
      '--break-glass',
      'now',
      ...key,
    ]);
    assert.equal(short.code, 2);
    assert.match(short.stderr, /a break-glass reason is 10 to 500 characters/);
    // A dry run, on the worker, shows the plan and says it would be refused now.
    const dryQueue = uniqueQueue('freeze-dry-run');
    const planned: ActivityCall[] = [];
    const [dry, backup] = await withWorker(
      dryQueue,
      async () => [
        await runbookCli(['start', 'deploy', '--env', ENV, '--ref', 'v1.0.0', '--dry-run', ...key], {
          RUNBOOK_TASK_QUEUE: dryQueue,
        }),
        // Backups are exempt: the CLI lets one start (its dry run shows the plan).
        await runbookCli(['start', 'backup', '--env', ENV, '--dry-run', ...key], { RUNBOOK_TASK_QUEUE: dryQueue }),
      ],
      activities(planned),
    );
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /refused now: frozen is frozen for deploy \(window test-freeze\)/);
    assert.match(dry.stdout, /switch traffic/);
    assert.equal(backup.code, 0, backup.stderr);
    assert.deepEqual(
      planned.filter((c) => ACTIVITY_KINDS[c.type as keyof typeof ACTIVITY_KINDS] === 'acts'),
      [],
      'the dry runs acted on nothing',
    );
    // Making a schedule starts nothing: allowed in a freeze (its runs are admitted one by one).
    const queue = { RUNBOOK_TASK_QUEUE: uniqueQueue('freeze-schedule') };
    const made = await runbookCli(
      ['schedule', 'create', 'deploy', '--env', ENV, '--ref', 'v1.0.0', '--interval', '1h', ...key],
      queue,
    );
    assert.equal(made.code, 0, made.stderr);
    assert.equal((await runbookCli(['schedule', 'delete', `deploy-${ENV}`], queue)).code, 0);
  });

  it('lets a deploy through on break-glass: two signed approvals by others, the reason recorded', async function () {
    const calls: ActivityCall[] = [];
    const queue = uniqueQueue('freeze-break-glass');
    await withWorker(
      queue,
      async () => {
        // Started as the CLI starts it: admitted at once, told it is held at the break-glass gate.
        const run = prepareRun({ runbook: 'deploy', env: ENV, params: PARAMS, initiator: STARTER, breakGlass: REASON });
        run.input.proof = await signStart(run.input, run.runId, 'default', { as: STARTER, key: inv.key(STARTER) });
        const { handle, admission } = await startRun(await testClient(), run, queue);
        assert.deepEqual(admission.admitted && admission.freeze?.then, 'break-glass');
        const gate = 'break glass: test-freeze';
        const at = await waitForProgress(handle, (p) => p.gate?.name === gate, 'the break-glass gate');
        assert.deepEqual([at.state, at.gate!.required], ['WAITING_APPROVAL', 2]);
        const { opensAtLocal, ...freeze } = at.freeze ?? {};
        assert.deepEqual(freeze, { window: 'test-freeze', opensAt, then: 'break-glass', reason: REASON });
        assert.match(opensAtLocal ?? '', / Europe\/Paris$/);

        // The starter cannot be one of the two; one other approver is not enough.
        await handle.signal(approvalSignal, await signedDecision(handle, STARTER, inv.key(STARTER)));
        await handle.signal(approvalSignal, await signedDecision(handle, 'alice', inv.key('alice')));
        const one = await waitForProgress(handle, (p) => p.approvals.length === 2, 'both decisions recorded');
        assert.match(one.approvals[0].refused ?? '', /olivia started this run and cannot also decide on it/);
        assert.deepEqual([one.state, one.gate?.name, acted(calls)], ['WAITING_APPROVAL', gate, []]);

        await handle.signal(approvalSignal, await signedDecision(handle, 'bob', inv.key('bob')));
        // Then the deploy's own four-eyes gate on this protected environment.
        const result = await approveEachGate(handle, (p) => p.gate?.name !== gate);
        assert.equal(result.state, 'COMPLETED', result.progress.reason);
        assert.deepEqual(result.progress.freeze?.approvedBy, ['alice', 'bob']);
        assert.equal(result.progress.freeze?.reason, REASON);
        assert.ok(acted(calls).includes('switchUpstream'), 'it deployed once through');
      },
      activities(calls),
    );
  });

  it('waits for the window to open with --wait-for-window, then runs', async function () {
    const calls: ActivityCall[] = [];
    const queue = uniqueQueue('freeze-wait');
    // A second environment, the same but for a window that opens a few seconds from now.
    const brief = parseYaml(fs.readFileSync(path.join(inv.dir, `${ENV}.yaml`), 'utf8')) as Record<string, unknown>;
    const now = Date.now();
    brief.environment = BRIEF;
    brief.freezes = {
      windows: [{ name: 'brief-freeze', start: instant(now - 3_600_000), end: instant(now + 15_000) }],
    };
    fs.writeFileSync(path.join(inv.dir, `${BRIEF}.yaml`), stringifyYaml(brief));
    await withWorker(
      queue,
      async () => {
        const run = prepareRun({
          runbook: 'deploy',
          env: BRIEF,
          params: PARAMS,
          initiator: STARTER,
          waitForWindow: true,
        });
        run.input.proof = await signStart(run.input, run.runId, 'default', { as: STARTER, key: inv.key(STARTER) });
        const { handle, admission } = await startRun(await testClient(), run, queue);
        assert.ok(admission.admitted && admission.freeze, JSON.stringify(admission));
        assert.equal(admission.freeze.window, 'brief-freeze');
        const waiting = await handle.query(progressQuery);
        assert.deepEqual([waiting.freeze?.then, waiting.steps, acted(calls)], ['wait', [], []]);

        const result = await approveEachGate(handle);
        assert.equal(result.state, 'COMPLETED', result.progress.reason);
        assert.ok(result.progress.freeze?.wentOnAt, 'the record says when it went on');
      },
      activities(calls),
    );
  });
  it('stops a run going when a window begins at its next step, at a gate; rejected, it is undone', async function () {
    const calls: ActivityCall[] = [];
    const queue = uniqueQueue('freeze-began');
    const LATER = 'frozen-later';
    const env = parseYaml(fs.readFileSync(path.join(inv.dir, `${ENV}.yaml`), 'utf8')) as Record<string, unknown>;
    const begins = Date.now() + 15_000;
    env.environment = LATER;
    env.freezes = { windows: [{ name: 'later-freeze', start: instant(begins), end: instant(begins + 3_600_000) }] };
    fs.writeFileSync(path.join(inv.dir, `${LATER}.yaml`), stringifyYaml(env));
    await withWorker(
      queue,
      async () => {
        const run = prepareRun({ runbook: 'deploy', env: LATER, params: PARAMS, initiator: STARTER });
        run.input.proof = await signStart(run.input, run.runId, 'default', { as: STARTER, key: inv.key(STARTER) });
        const { handle, admission } = await startRun(await testClient(), run, queue);
        assert.deepEqual(admission, { admitted: true }, 'not frozen when it starts');
        const gate = 'freeze window later-freeze began: go on';
        // Its own gates are approved only once the window has begun, so it meets it at a step boundary.
        await new Promise((r) => setTimeout(r, Math.max(0, begins + 1000 - Date.now())));
        const approved = new Set<string>();
        const held = await (async () => {
          for (;;) {
            const p = await handle.query(progressQuery);
            if (p.gate?.name === gate) return p;
            if (p.gate?.nonce && !approved.has(p.gate.nonce)) {
              approved.add(p.gate.nonce);
              await handle.signal(approvalSignal, await signedDecision(handle, 'alice', inv.key('alice')));
            }
            await new Promise((r) => setTimeout(r, 200));
          }
        })();
        assert.deepEqual([held.state, held.gate?.required], ['WAITING_APPROVAL', 2]);
        assert.equal(held.freezeBegan?.window, 'later-freeze');
        assert.ok(!acted(calls).includes('switchUpstream'), 'the switch waits for the gate');
        await handle.signal(approvalSignal, await signedDecision(handle, 'bob', inv.key('bob'), 'reject', 'frozen'));
        const err = await handle.result().then(
          () => assert.fail('a run rejected at the freeze gate completed'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof WorkflowFailedError, String(err));
        const done = await handle.query(progressQuery);
        assert.equal(done.state, 'COMPENSATED', done.reason);
        assert.ok(!acted(calls).includes('switchUpstream'), 'never switched');
      },
      activities(calls),
    );
  });
});
