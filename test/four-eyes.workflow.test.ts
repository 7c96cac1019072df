// Four eyes on a protected environment, on the dev server with stub activities (the real rules,
// the real signature checks): every mutating runbook of the registry waits for another person's
// signed approval whatever its starter passed, the starter alone cannot release it, and a
// schedule's runs go without a person only once a second approver co-signed the schedule and
// only at the times its own timetable calls for. Each test plays the attacker, with the SDK or
// the stock temporal CLI, and checks that the stub that acts was never called.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import type { WorkflowHandle } from '@temporalio/client';
import { proveStart } from '../activities/identity/start';
import { verifySignature, verifySignatures } from '../activities/identity/verify';
import { signClaim, signStart } from '../src/identity/sign';
import { RUNBOOKS } from '../src/runbooks';
import { prepareRun } from '../src/start';
import { scheduleNonce, scheduleSubject, type ScheduledRequest } from '../src/schedules';
import { BACKUP_STEPS } from '../runbooks/backup/definition';
import { approvalSignal, progressQuery, type RunProgress, type RunResult } from '../common/shared';
import { bedEnvironment } from './bed-inventory';
import { recordHistory } from './history-recorder';
import { atGate, runbookCli, startTestRun, testClient, uniqueQueue, waitForProgress, withWorker } from './helpers';
import { signedDecision, signedInventory, type SignedInventory } from './identity-keys';
import { assertPlanIsRun, dryRunOn, type ActivityCall } from './plan-facts';
import { stubActivities } from './stub-activities';
import { called, type ParamsGiven } from './runbook-stubs';
import { RUNBOOK_STUBS } from '../runbooks/stubs.generated';
import { projectRoot } from '../src/config';

const ENV = 'guarded';
const STARTER = 'olivia';

/** What each mutating runbook is started with: whatever could skip a gate is asked (--gate false). */
const PARAMS: Record<string, ParamsGiven> = {
  // Each runbook folder's own (runbooks/<name>/stubs.ts).
  ...Object.assign({}, ...Object.values(RUNBOOK_STUBS).map((r) => r.protectedParams ?? r.params)),
  deploy: { ref: 'v1.0.0', gate: false, 'rollback-window': '1s' },
  'migrate-then-code': { ref: 'v1.0.0', gate: false, 'rollback-window': '1s' },
  provision: { host: 'fresh' },
  restore: {},
  'restore-previous': { database: 'runbook_previous_0123456789ab' },
  'drop-previous': { database: 'runbook_previous_0123456789ab' },
  'rotate-db-password': { secret: 'dbPassword' },
  'rolling-deploy': { ref: 'v1.0.0', batches: '1,100%', gate: false },
  'run-command': { hosts: 'role:web', batch: '1', argv: ['true'] },
};

/** Whether a run has done what its gate guards: the stub that changes the environment was called. */
const ACTED: Record<string, (calls: ActivityCall[]) => boolean> = {
  ...Object.assign({}, ...Object.values(RUNBOOK_STUBS).map((r) => r.acted)),
  deploy: (c) => called(c, 'switchUpstream'),
  'migrate-then-code': (c) => called(c, 'switchUpstream') || called(c, 'migrateAll'),
  provision: (c) => called(c, 'ensureOpsUser'),
  restore: (c) => called(c, 'setMaintenance') || called(c, 'swapIn'),
  'restore-previous': (c) => called(c, 'putPreviousBack'),
  'drop-previous': (c) => called(c, 'dropPreviousDatabase'),
  'rotate-db-password': (c) => called(c, 'writeEnvPassword') || called(c, 'setDatabasePassword'),
  // After its canary, the second host (web-green) is what the gate guards.
  'rolling-deploy': (c) => c.some((x) => x.type === 'rollHost' && (x.input as { host: string }).host === 'web-green'),
  'run-command': (c) => called(c, 'hostCommand'),
};

const MUTATING = RUNBOOKS.filter((r) => r.mutating);

/** The stubs, with the worker's real checks of who signed what. */
function activities(calls: ActivityCall[]) {
  return { ...stubActivities(calls), proveStart, verifySignature, verifySignatures };
}

describe('four eyes on a protected environment (stub activities, real signatures)', function () {
  this.timeout(240_000);
  let inv: SignedInventory;
  before(function () {
    inv = signedInventory(ENV, [STARTER, 'alice', 'bob'], ['alice', 'bob', STARTER], 1, bedEnvironment(ENV));
  });
  after(() => inv?.remove());

  it('declares gates and what acts for every mutating runbook of the registry', function () {
    assert.deepEqual(
      MUTATING.filter((r) => !r.protectedGates.length || !PARAMS[r.name] || !ACTED[r.name]).map((r) => r.name),
      [],
    );
  });

  for (const spec of MUTATING) {
    it(`${spec.name}: waits for another person's signed approval; its starter cannot give it`, async function () {
      const calls: ActivityCall[] = [];
      const queue = uniqueQueue(`four-eyes-${spec.name}`);
      await withWorker(
        queue,
        async () => {
          const handle = await startTestRun(queue, {
            runbook: spec.name,
            env: ENV,
            params: PARAMS[spec.name],
            initiator: STARTER,
            signWith: inv.key(STARTER),
          });
          const at = await waitForProgress(handle, (p) => p.state === 'WAITING_APPROVAL', 'the first gate');
          assert.ok(spec.protectedGates.includes(at.gate!.name), `${at.gate!.name} is declared`);
          assert.equal(ACTED[spec.name](calls), false, 'nothing acted before the gate');

          // The starter, by name and key, and the starter's key under another name: refused.
          await handle.signal(approvalSignal, await signedDecision(handle, STARTER, inv.key(STARTER)));
          const byKey = { ...(await signedDecision(handle, 'alice', inv.key(STARTER))), approver: 'alice' };
          await handle.signal(approvalSignal, byKey);
          const refused = await waitForProgress(handle, (p) => p.approvals.length === 2, 'both refusals recorded');
          assert.match(refused.approvals[0].refused ?? '', /olivia started this run and cannot also decide on it/);
          assert.match(refused.approvals[1].refused ?? '', /made with olivia's key, not alice's/);
          assert.deepEqual([refused.state, ACTED[spec.name](calls)], ['WAITING_APPROVAL', false]);

          const result = await approveEachGate(handle, inv);
          assert.equal(result.state, 'COMPLETED', result.progress.reason);
          const planned: ActivityCall[] = [];
          const dryQueue = uniqueQueue(`four-eyes-dry-${spec.name}`);
          const plan = await withWorker(
            dryQueue,
            () =>
              dryRunOn(dryQueue, {
                runbook: spec.name,
                env: ENV,
                params: PARAMS[spec.name],
                initiator: STARTER,
                signWith: inv.key(STARTER),
              }),
            activities(planned),
          );
          // The dry run shows the gates the run waited at, and its steps.
          assertPlanIsRun(plan, result, planned);
          if (spec.name !== 'smoke') assert.equal(ACTED[spec.name](calls), true, 'it acted once approved');
          // Replayed by test/replay.fast.test.ts: a gate the rules decided, behind its patch.
          if (spec.name === 'deploy') await recordHistory(handle, 'deploy-protected-four-eyes');
        },
        activities(calls),
      );
    });
  }

  it('takes no gate decision from the input: a raw SDK start asking for none waits at the switch', async () => {
    const calls: ActivityCall[] = [];
    const queue = uniqueQueue('four-eyes-raw');
    await withWorker(
      queue,
      async () => {
        const run = prepareRun({ runbook: 'deploy', env: ENV, params: { ref: 'v1.0.0' }, initiator: STARTER });
        // What an attacker adds: the old input's own policy, with no approver and no lock.
        Object.assign(run.input, { approval: { required: 0, approvers: [], timeoutMs: 1 }, mutating: false });
        run.input.proof = await signStart(run.input, run.runId, 'default', { as: STARTER, key: inv.key(STARTER) });
        const client = await testClient();
        const handle = await client.workflow.start('deploy', {
          taskQueue: queue,
          workflowId: run.runId,
          args: [run.input],
        });
        const p = await waitForProgress(handle, atGate('switch traffic'), 'the switch gate');
        assert.deepEqual([p.gate!.required, p.gate!.approvers], [1, ['alice', 'bob', STARTER]]);
        assert.equal(called(calls, 'switchUpstream'), false);
        await end(handle);
      },
      activities(calls),
    );
  });

  describe('schedules', function () {
    const queue = uniqueQueue('four-eyes-schedule');
    const cli = { RUNBOOK_TASK_QUEUE: queue };
    const id = `backup-${ENV}`;

    afterEach(async () => {
      await runbookCli(['schedule', 'delete', id], cli);
    });

    async function create(extra: string[] = []): Promise<void> {
      const args = ['schedule', 'create', 'backup', '--env', ENV, '--interval', '2s', ...extra];
      const created = await runbookCli([...args, '--as', STARTER, '--key', inv.key(STARTER)], cli);
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, /PAUSED: guarded is protected, so another approver co-signs it before it runs/);
    }

    it('runs only once co-signed; a manual trigger waits at its gate like a hand start', async () => {
      const calls: ActivityCall[] = [];
      const client = await testClient();
      const schedule = client.schedule.getHandle(id);
      await withWorker(
        queue,
        async () => {
          await create();
          assert.equal((await schedule.describe()).state.paused, true, 'pending: paused');

          // The attacker triggers the pending schedule with the stock CLI.
          await temporal(['schedule', 'trigger', '--schedule-id', id]);
          const pending = await scheduledRun(id, (p) => p.state === 'WAITING_APPROVAL');
          assert.deepEqual(
            [pending.progress.gate!.name, pending.progress.scheduled],
            [BACKUP_STEPS.gate, { schedule: id, firing: 'manual' }],
          );
          assert.equal(called(calls, 'applyRetention'), false);
          await end(pending.handle);

          // Its creator cannot co-sign it.
          const own = await runbookCli(['schedule', 'approve', id, '--as', STARTER, '--key', inv.key(STARTER)], cli);
          assert.equal(own.code, 2, own.stdout);
          assert.match(own.stderr, /olivia created schedule backup-guarded and cannot also co-sign it \(four eyes\)/);

          const bob = await runbookCli(['schedule', 'approve', id, '--as', 'bob', '--key', inv.key('bob')], cli);
          assert.equal(bob.code, 0, bob.stderr);
          const ran = await scheduledRun(id, (p) => p.state === 'COMPLETED');
          assert.deepEqual(ran.progress.scheduled, {
            schedule: id,
            firing: 'spec',
            cosignedBy: 'bob',
            cosignKey: inv.fingerprint('bob'),
          });
          assert.deepEqual(ran.progress.gates, [], 'a firing of its timetable goes without a person');
          assert.equal(called(calls, 'applyRetention'), true);
          await recordHistory(ran.handle, 'backup-cosigned-schedule');

          const history = await runbookCli(['history', ran.handle.workflowId], cli);
          assert.match(
            history.stdout,
            /fired by schedule backup-guarded at a time its timetable called for; co-signed by bob/,
          );

          // Paused again (which is no change to what was signed), then triggered by hand: it waits.
          await schedule.pause();
          await waitForRunsToEnd(id);

          // The attacker resets the completed run to its start: another execution, which waits.
          const retention = calls.filter((c) => c.type === 'applyRetention').length;
          const { events } = await ran.handle.fetchHistory();
          const firstTask = events!.find((e) => e.workflowTaskCompletedEventAttributes)!.eventId!;
          const { runId } = await client.workflowService.resetWorkflowExecution({
            namespace: 'default',
            workflowExecution: { workflowId: ran.handle.workflowId },
            workflowTaskFinishEventId: firstTask,
            requestId: `reset-${Date.now()}`,
            reason: 'the attacker runs it again',
          });
          const reset = client.workflow.getHandle(ran.handle.workflowId, runId!);
          const again = await waitForProgress(
            reset,
            (p) => p.state === 'WAITING_APPROVAL',
            'the reset run at its gate',
          );
          assert.equal(again.scheduled?.firing, 'manual');
          assert.equal(calls.filter((c) => c.type === 'applyRetention').length, retention, 'nothing deleted');
          await end(reset);

          const before = calls.filter((c) => c.type === 'applyRetention').length;
          await temporal(['schedule', 'trigger', '--schedule-id', id]);
          const manual = await scheduledRun(id, (p) => p.state === 'WAITING_APPROVAL', [ran.handle.workflowId]);
          assert.equal(manual.progress.scheduled?.firing, 'manual');
          assert.equal(manual.progress.scheduled?.cosignedBy, 'bob');
          assert.equal(calls.filter((c) => c.type === 'applyRetention').length, before, 'nothing deleted');
          await end(manual.handle);
        },
        activities(calls),
      );
    });

    it('resumed unsigned, changed, re-made, forged co-signature, past bounds: its runs wait at the gate', async () => {
      const calls: ActivityCall[] = [];
      const client = await testClient();
      const schedule = client.schedule.getHandle(id);
      await withWorker(
        queue,
        async () => {
          // The attacker resumes the pending schedule with the stock CLI: its own firings wait too.
          await create();
          let seen = await finishedRuns(id);
          await temporal(['schedule', 'toggle', '--schedule-id', id, '--unpause', '--reason', 'no second person']);
          const unpaused = await scheduledRun(id, (p) => p.state === 'WAITING_APPROVAL', seen);
          assert.deepEqual(unpaused.progress.scheduled, { schedule: id, firing: 'spec' });
          assert.equal(called(calls, 'applyRetention'), false);
          await schedule.pause();
          await end(unpaused.handle);
          await waitForRunsToEnd(id);
          await runbookCli(['schedule', 'delete', id], cli);

          // Co-signed, then the attacker makes it fire every second: what bob signed no longer stands.
          await create();
          const bob = await runbookCli(['schedule', 'approve', id, '--as', 'bob', '--key', inv.key('bob')], cli);
          assert.equal(bob.code, 0, bob.stderr);
          await schedule.pause();
          await waitForRunsToEnd(id);
          const cosigned = await schedule.describe();
          await schedule.update((prev) => ({ ...prev, spec: { intervals: [{ every: 1000 }] } }));
          seen = await finishedRuns(id);
          await schedule.unpause();
          const changed = await scheduledRun(id, (p) => p.state === 'WAITING_APPROVAL', seen);
          assert.match(changed.progress.scheduled?.cosignRefused ?? '', /co-signature: /);
          await schedule.pause();
          await end(changed.handle);
          await waitForRunsToEnd(id);
          await runbookCli(['schedule', 'delete', id], cli);

          // Made again under its id, with the co-signed action copied: the co-signature was for the other one.
          seen = await finishedRuns(id);
          await client.schedule.create({
            scheduleId: id,
            spec: cosigned.spec,
            action: {
              type: 'startWorkflow',
              workflowType: cosigned.action.workflowType,
              workflowId: `scheduled-${id}`,
              taskQueue: queue,
              args: cosigned.action.args,
            },
            policies: cosigned.policies,
          });
          const copied = await scheduledRun(id, (p) => p.state === 'WAITING_APPROVAL', seen);
          assert.match(copied.progress.scheduled?.cosignRefused ?? '', /bob's key signed something else/);
          await schedule.pause();
          await end(copied.handle);
          await waitForRunsToEnd(id);
          await runbookCli(['schedule', 'delete', id], cli);
          const beforeForgery = calls.filter((c) => c.type === 'applyRetention').length;

          // A co-signature made with the creator's own key, under alice's name.
          await create();
          const d = await schedule.describe();
          const claim = { namespace: 'default', runId: id, action: 'cosign' as const, gate: '' };
          const subject = { nonce: scheduleNonce(d), by: 'alice', subject: scheduleSubject(d), comment: '' };
          const forged = await signClaim({ ...claim, ...subject }, { as: 'alice', key: inv.key(STARTER) });
          const request = d.action.args![0] as ScheduledRequest;
          seen = await finishedRuns(id);
          await schedule.update((prev) => ({
            ...prev,
            action: { ...prev.action, args: [{ ...request, cosign: { by: 'alice', ...forged } }] },
            state: { paused: false },
          }));
          const forgedRun = await scheduledRun(id, (p) => p.state === 'WAITING_APPROVAL', seen);
          assert.match(forgedRun.progress.scheduled?.cosignRefused ?? '', /made with olivia's key, not alice's/);
          await schedule.pause();
          await end(forgedRun.handle);
          await waitForRunsToEnd(id);
          await runbookCli(['schedule', 'delete', id], cli);

          // Co-signed in due form, but deleting every older backup is beyond the inventory's floor.
          await create(['--daily', '0', '--weekly', '0']);
          seen = await finishedRuns(id);
          const approved = await runbookCli(['schedule', 'approve', id, '--as', 'bob', '--key', inv.key('bob')], cli);
          assert.equal(approved.code, 0, approved.stderr);
          const beyond = await scheduledRun(id, (p) => p.state === 'WAITING_APPROVAL', seen);
          assert.deepEqual([beyond.progress.scheduled?.firing, beyond.progress.scheduled?.cosignedBy], ['spec', 'bob']);
          assert.match(beyond.progress.policy?.applied.beyondBounds?.join() ?? '', /--daily 0 is below guarded's/);
          assert.equal(calls.filter((c) => c.type === 'applyRetention').length, beforeForgery, 'nothing deleted');
          await schedule.pause();
          await end(beyond.handle);
          await waitForRunsToEnd(id);
        },
        activities(calls),
      );
    });
  });
});

/** Cancels a run and waits for it to end (its undos done, its lock released), while the worker runs. */
async function end(handle: WorkflowHandle): Promise<void> {
  await handle.cancel();
  await handle.result().catch(() => undefined);
}

/** Approves each gate the run opens, as alice (never its starter), until it ends. */
async function approveEachGate(handle: WorkflowHandle, inv: SignedInventory): Promise<RunResult> {
  let ended = false;
  const result = (handle.result() as Promise<RunResult>).finally(() => (ended = true));
  const approved = new Set<string>();
  while (!ended) {
    const p: RunProgress | undefined = await handle.query(progressQuery).catch(() => undefined);
    if (p?.gate && !approved.has(p.gate.nonce!)) {
      approved.add(p.gate.nonce!);
      await handle.signal(approvalSignal, await signedDecision(handle, 'alice', inv.key('alice')));
    }
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 200))]);
  }
  return result;
}

/** The run a schedule's launcher started (not one of `except`), once `done` holds for it. */
async function scheduledRun(
  scheduleId: string,
  done: (p: RunProgress) => boolean,
  except: string[] = [],
): Promise<{ handle: WorkflowHandle; progress: RunProgress }> {
  const client = await testClient();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    for await (const launcher of client.workflow.list({ query: `TemporalScheduledById = '${scheduleId}'` })) {
      const { events } = await client.workflow.getHandle(launcher.workflowId, launcher.runId).fetchHistory();
      for (const e of events ?? []) {
        const child = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
        if (!child || except.includes(child)) continue;
        const handle = client.workflow.getHandle(child);
        const progress = await handle.query(progressQuery).catch(() => undefined);
        if (progress && done(progress)) return { handle, progress };
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no run of schedule ${scheduleId} got there within 60 s`);
}

/** The runs a schedule started so far (to tell the next one from them). */
async function finishedRuns(scheduleId: string): Promise<string[]> {
  const client = await testClient();
  const ids: string[] = [];
  for await (const launcher of client.workflow.list({ query: `TemporalScheduledById = '${scheduleId}'` })) {
    const { events } = await client.workflow.getHandle(launcher.workflowId, launcher.runId).fetchHistory();
    for (const e of events ?? []) {
      const child = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
      if (child) ids.push(child);
    }
  }
  return ids;
}

/** Waits until none of the schedule's launchers is running. */
async function waitForRunsToEnd(scheduleId: string): Promise<void> {
  const client = await testClient();
  const query = `TemporalScheduledById = '${scheduleId}' AND ExecutionStatus = 'Running'`;
  for (let i = 0; i < 300; i++) {
    let running = 0;
    for await (const launcher of client.workflow.list({ query })) {
      running++;
      await client.workflow
        .getHandle(launcher.workflowId)
        .cancel()
        .catch(() => undefined);
    }
    if (!running) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`schedule ${scheduleId}'s runs did not end`);
}

/** The stock temporal CLI, as an operator (or an attacker) with access to the namespace runs it. */
function temporal(args: string[]): Promise<string> {
  const address = process.env.TEMPORAL_ADDRESS!;
  return new Promise((resolve, reject) =>
    execFile(
      'bash',
      [`${projectRoot}/scripts/temporal-cli.sh`, ...args, '--address', address, '--namespace', 'default'],
      { timeout: 60_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`temporal ${args.join(' ')}: ${stderr}`)) : resolve(stdout)),
    ),
  );
}
