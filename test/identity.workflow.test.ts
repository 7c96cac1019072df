// Signed identity on the real dev server: in an environment that takes signed decisions, only a
// signature by a listed approver's key, over this run, this gate's nonce and an unexpired time,
// counts, once. Everything else is refused and recorded. The CLI signs with an ssh-agent or a
// key file; `runbook sign` prints what the Web UI's "Send a Signal" takes.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { signClaim, signStart } from '../src/identity/sign';
import type { Claim, Signed } from '../common/signed-message';
import {
  approvalSignal,
  failureDecisionSignal,
  progressQuery,
  type ApprovalInput,
  type RunProgress,
  type RunResult,
} from '../common/shared';
import { prepareRun, startRun } from '../src/start';
import { listEnvironments, loadEnvironment, parseEnvironment } from '../src/inventory';
import { loadPeople } from '../src/identity/people';
import { recordHistory } from './history-recorder';
import { atGate, runbookCli, testClient, uniqueQueue, waitForProgress, withWorker } from './helpers';
import { signedInventory, type SignedInventory } from './identity-keys';
import { testActivities } from './activities';
import { ApplicationFailure } from '@temporalio/common';

const ENV = 'signed';

describe('people.yaml and identity in the inventory', function () {
  const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAXGlHn68Q6Mix+URqvMdSIXz0n9Ddg5/zCU0Ki6MZM3';
  const OTHER = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBXGlHn68Q6Mix+URqvMdSIXz0n9Ddg5/zCU0Ki6MZM3';
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'people-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (file: string, text: string) => fs.writeFileSync(path.join(dir, file), text);
  const env = (extra: string) =>
    `environment: prod\n${extra}\napprovals: { approvers: [alice] }\nhosts:\n  web-1: { address: 10.0.0.5 }\n`;

  it('signs where protected, refuses typed names there, and takes names as typed elsewhere', function () {
    assert.equal(parseEnvironment(env('protected: true'), 'prod.yaml').identity, 'signed');
    assert.equal(parseEnvironment(env('protected: false'), 'prod.yaml').identity, 'typed');
    const typed = () => parseEnvironment(env('protected: true\nidentity: typed'), 'prod.yaml');
    assert.throws(typed, /prod.yaml: a protected environment takes signed identity only/);
    const unknown = () => parseEnvironment(env('identity: proven'), 'prod.yaml');
    assert.throws(unknown, /identity: must be equal to one of the allowed values/);
  });

  it('reads people and keys; refuses bad or shared keys, and signed environments whose approvers have none', () => {
    write('people.yaml', `people:\n  alice: { keys: ["${KEY} alice@laptop"] }\n`);
    assert.deepEqual(loadPeople([dir]).get('alice')?.keys, [KEY]);
    write('prod.yaml', env('protected: true'));
    assert.equal(loadEnvironment('prod', [dir]).identity, 'signed');
    assert.deepEqual(listEnvironments([dir]), ['prod'], 'people.yaml is not an environment');
    assert.throws(() => loadEnvironment('people', [dir]), /people.yaml lists people, not an environment/);
    write('staging.yaml', env('protected: true').replace('prod', 'staging').replace('[alice]', '[alice, bob]'));
    const keyless = /identity is signed, but approvers bob have no keys in people.yaml/;
    assert.throws(() => loadEnvironment('staging', [dir]), keyless);
    for (const [bad, error] of [
      [`people:\n  alice: { keys: ["ssh-dss AAAA"] }\n`, /people\.alice\.keys\.0: must match pattern/],
      [`people:\n  "a*": { keys: ["${KEY}"] }\n`, /property name must be valid|must match pattern/],
      [
        `people:\n  alice: { keys: ["${KEY}"] }\n  eve: { keys: ["${OTHER}", "${KEY} eve"] }\n`,
        /eve and alice share a key/,
      ],
    ] as const) {
      write('people.yaml', bad);
      assert.throws(() => loadPeople([dir]), error);
    }
  });
});

describe('signed identity', function () {
  this.timeout(180_000);
  const taskQueue = uniqueQueue('identity');
  let inv: SignedInventory;

  before(function () {
    inv = signedInventory(ENV, ['olivia', 'alice', 'bob', 'carol'], ['alice', 'bob', 'carol'], 2);
  });
  after(function () {
    inv?.remove();
  });
  // A failed test leaves no run waiting at a gate (it would hold the environment for the next).
  const started: WorkflowHandle[] = [];
  afterEach(async function () {
    for (const h of started.splice(0)) await h.cancel().catch(() => undefined);
  });

  async function start(initiator: string, key?: string): Promise<{ handle: WorkflowHandle; refused?: string }> {
    const run = prepareRun({ runbook: 'smoke', env: ENV, params: {}, initiator });
    if (key) run.input.proof = await signStart(run.input, run.runId, 'default', { as: initiator, key });
    const { handle, admission } = await startRun(await testClient(), run, taskQueue);
    started.push(handle);
    return { handle, refused: admission.admitted ? undefined : admission.reason };
  }

  /** A decision signed with `key` over `claim` (this run and open gate unless told otherwise). */
  async function signed(
    handle: WorkflowHandle,
    p: RunProgress,
    by: string,
    key: string,
    over: Partial<Claim> = {},
    validityMs?: number,
  ): Promise<ApprovalInput> {
    const gate = { gate: p.gate!.name, nonce: p.gate!.nonce! };
    const run = { namespace: 'default', runId: handle.workflowId, action: 'approve' as const };
    const claim = { ...run, ...gate, by, subject: '', comment: '', ...over };
    return { approver: by, decision: 'approve', ...(await signClaim(claim, { as: by, key, validityMs })) };
  }

  it('refuses a start that is unsigned or signed with another key, before it holds anything', async function () {
    await withWorker(taskQueue, async () => {
      const unsigned = await start('olivia');
      const how = /signed takes signed starts only: start it with `runbook start smoke --env signed --as <you>`/;
      assert.match(unsigned.refused ?? '', how);
      const forged = await start('olivia', inv.key('mallory'));
      assert.match(forged.refused ?? '', /start refused: bad signature: made with a key that is not in the inventory/);
      const asSomeoneElse = await start('olivia', inv.key('alice'));
      assert.match(asSomeoneElse.refused ?? '', /made with alice's key, not olivia's/);
      const { state, steps } = (await unsigned.handle.query('progress')) as RunProgress;
      assert.deepEqual([state, steps], ['REFUSED', []]);
    });
  });

  it("counts only approvers' signatures over this run and gate, once; refuses and records the rest", async () => {
    await withWorker(taskQueue, async () => {
      const { handle, refused } = await start('olivia', inv.key('olivia'));
      assert.equal(refused, undefined);
      const p = await waitForProgress(handle, atGate('go-ahead'));
      assert.equal(p.identity, 'signed');
      assert.equal(p.initiatorKey, inv.fingerprint('olivia'));
      assert.match(p.gate!.nonce!, /^[0-9a-f-]{36}$/);

      const sent: [string, ApprovalInput][] = [
        ['unsigned', { approver: 'alice', decision: 'approve' }],
        ['initiator', await signed(handle, p, 'olivia', inv.key('olivia'))],
        ['initiator key as alice', await signed(handle, p, 'alice', inv.key('olivia'))],
        ['unknown key', await signed(handle, p, 'alice', inv.key('mallory'))],
        ['another run', await signed(handle, p, 'alice', inv.key('alice'), { runId: `${handle.workflowId}x` })],
        ['another gate', await signed(handle, p, 'alice', inv.key('alice'), { gate: 'other' })],
        ['an old nonce', await signed(handle, p, 'alice', inv.key('alice'), { nonce: '0000-4000-8000-00000000' })],
        ['expired', await signed(handle, p, 'alice', inv.key('alice'), {}, 1)],
        ['another comment', { ...(await signed(handle, p, 'alice', inv.key('alice'))), comment: 'changed' }],
      ];
      const recorded = (n: number) => (q: RunProgress) => q.approvals.length === n;
      // One at a time: each is checked by an activity, and they would be recorded as their checks end.
      for (const [i, [what, input]] of sent.entries()) {
        await handle.signal(approvalSignal, input);
        await waitForProgress(handle, recorded(i + 1), `the ${what} decision to be recorded`);
      }
      const afterRefused = await handle.query(progressQuery);
      const reasons = afterRefused.approvals.map((a) => a.refused ?? 'counted');
      const expected = [
        /^unsigned: this run takes signed decisions only: `runbook approve .* --as <you>` signs with your SSH key/,
        /olivia started this run and cannot also decide on it \(four eyes\)/,
        /bad signature: made with olivia's key, not alice's/,
        /bad signature: made with a key that is not in the inventory's people.yaml/,
        /bad signature: alice's key signed something else/,
        /bad signature: alice's key signed something else/,
        /bad signature: alice's key signed something else/,
        /the signature expired at/,
        /bad signature: alice's key signed something else/,
      ];
      reasons.forEach((r, i) => assert.match(r, expected[i], `${sent[i][0]}: ${r}`));
      assert.equal(afterRefused.state, 'WAITING_APPROVAL');

      // From an ssh-agent (the private key off disk), through `runbook sign` and the signal the Web UI sends.
      const socket = inv.agent(['alice']);
      fs.rmSync(inv.key('alice'));
      const sign = ['sign', 'approve', handle.workflowId, '--as', 'alice', '--comment', 'looks right'];
      const printed = await runbookCli(sign, { SSH_AUTH_SOCK: socket });
      assert.equal(printed.code, 0, printed.stderr);
      assert.match(printed.stderr, /Send a Signal named "approval"/);
      const pasted = JSON.parse(printed.stdout) as ApprovalInput;
      await handle.signal(approvalSignal, pasted);
      await handle.signal(approvalSignal, pasted);
      const replayed = await waitForProgress(handle, recorded(sent.length + 2), 'the replay to be recorded');
      const [counted, again] = replayed.approvals.slice(-2);
      assert.deepEqual(
        [counted.approver, counted.refused, counted.key, counted.comment],
        ['alice', undefined, inv.fingerprint('alice'), 'looks right'],
      );
      assert.match(again.refused ?? '', /alice has already decided at go-ahead/);

      // From a key file, through `runbook approve` (an update: a refusal reaches the caller).
      const stranger = await runbookCli(['approve', handle.workflowId, '--as', 'bob', '--key', inv.key('mallory')]);
      assert.equal(stranger.code, 1);
      assert.match(stranger.stderr, /refused: bad signature: made with a key that is not in the inventory's people/);
      const bob = await runbookCli(['approve', handle.workflowId, '--as', 'bob', '--key', inv.key('bob')]);
      assert.equal(bob.code, 0, bob.stderr);
      const result = (await handle.result()) as RunResult;
      assert.equal(result.state, 'COMPLETED');
      const byBob = result.progress.approvals.filter((a) => a.approver === 'bob');
      assert.deepEqual(
        byBob.map((a) => [a.via, a.refused === undefined, a.key]),
        [
          ['update', false, undefined],
          ['update', true, inv.fingerprint('bob')],
        ],
      );

      const history = await runbookCli(['history', handle.workflowId]);
      assert.equal(history.code, 0, history.stderr);
      const key = (name: string) => escape(inv.fingerprint(name));
      assert.match(history.stdout, new RegExp(`started .* by olivia, signed with ${key('olivia')}`));
      assert.match(history.stdout, new RegExp(`approved by alice at go-ahead .* signal, signed with ${key('alice')}`));
      assert.match(history.stdout, new RegExp(`approved by bob at go-ahead .* via update, signed with ${key('bob')}`));
      await recordHistory(handle, 'smoke-signed-approvals');
    });
  });

  it("checks every signed decision, in batches: junk sent in bob's name never keeps bob from deciding", async () => {
    await withWorker(taskQueue, async () => {
      const { handle } = await start('olivia', inv.key('olivia'));
      const p = await waitForProgress(handle, atGate('go-ahead'));
      // The attacker: well formed, in bob's name, made with a key the inventory does not list,
      // more of them than the 10 checks a person once had per gate.
      const forged = await signed(handle, p, 'bob', inv.key('mallory'));
      const before = 30;
      await Promise.all(Array.from({ length: before }, () => handle.signal(approvalSignal, forged)));
      await waitForProgress(handle, (q) => q.approvals.length === before, 'the junk to be checked');
      // Bob's own signature, sent through the Web UI's signal in the middle of more junk, is checked and counts.
      const genuine = await signed(handle, p, 'bob', inv.key('bob'));
      const after = 20;
      await Promise.all([
        handle.signal(approvalSignal, genuine),
        ...Array.from({ length: after }, () => handle.signal(approvalSignal, forged)),
      ]);
      const bobs = (q: RunProgress) => q.approvals.filter((a) => a.approver === 'bob' && !a.refused);
      await waitForProgress(handle, (q) => bobs(q).length === 1, "bob's approval to count");
      // So does carol's, through the CLI's update.
      const carol = await runbookCli(['approve', handle.workflowId, '--as', 'carol', '--key', inv.key('carol')]);
      assert.equal(carol.code, 0, carol.stderr);
      const result = (await handle.result()) as RunResult;
      assert.equal(result.state, 'COMPLETED');
      const refused = result.progress.approvals.filter((a) => a.refused).map((a) => a.refused ?? '');
      assert.equal(refused.length, before + after);
      for (const why of refused) assert.match(why, /made with a key that is not in the inventory's people.yaml/);
      assert.deepEqual(
        result.progress.approvals.filter((a) => !a.refused).map((a) => [a.approver, a.key]),
        [
          ['bob', inv.fingerprint('bob')],
          ['carol', inv.fingerprint('carol')],
        ],
      );
      // Checked in batches: the flood cost a few activities, not one per decision.
      const { events } = await handle.fetchHistory();
      const checks = (events ?? []).filter((e) =>
        /^verifySignatures?$/.test(e.activityTaskScheduledEventAttributes?.activityType?.name ?? ''),
      );
      assert.ok(checks.length <= 10, `${checks.length} check activities for ${before + after + 2} decisions`);
      await recordHistory(handle, 'smoke-signed-junk');
    });
  });

  it("at a failure gate, follows only a signed decision by an approver's key", async () => {
    let broken = true;
    const activities = {
      ...testActivities,
      writeMarker: async (input: Parameters<typeof testActivities.writeMarker>[0]) => {
        if (broken && input.step === 'announce') throw ApplicationFailure.nonRetryable('disk full', 'CommandFailed');
        return testActivities.writeMarker(input);
      },
    };
    await withWorker(
      taskQueue,
      async () => {
        const run = prepareRun({ runbook: 'smoke', env: ENV, params: {}, initiator: 'olivia', onFailure: 'ask' });
        run.input.proof = await signStart(run.input, run.runId, 'default', { as: 'olivia', key: inv.key('olivia') });
        const { handle } = await startRun(await testClient(), run, taskQueue);
        started.push(handle);
        const p = await waitForProgress(handle, (q) => q.failureGate?.step === 'announce', 'the failure gate');
        const nonce = p.failureGate!.nonce!;
        assert.match(nonce, /^[0-9a-f-]{36}$/);
        const decided = (n: number) => (q: RunProgress) => (q.failureGate?.decisions.length ?? 0) === n;

        await handle.signal(failureDecisionSignal, { decision: 'retry', by: 'alice' });
        const claim = { namespace: 'default', runId: handle.workflowId, action: 'retry' as const, gate: 'announce' };
        const oliviaKey = { as: 'olivia', key: inv.key('olivia') };
        const byOlivia = await signClaim({ ...claim, nonce, by: 'olivia', subject: '', comment: '' }, oliviaKey);
        await waitForProgress(handle, decided(1), 'the unsigned retry to be recorded');
        await handle.signal(failureDecisionSignal, { decision: 'retry', by: 'alice', ...byOlivia });
        const refused = await waitForProgress(handle, decided(2), 'the retry signed by the initiator to be recorded');
        const reasons = refused.failureGate!.decisions.map((d) => d.refused ?? 'followed');
        assert.match(reasons[0], /^unsigned: .*`runbook retry \S+ --as <you>` signs with your SSH key/);
        assert.match(reasons[1], /^bad signature: made with olivia's key, not alice's/);

        broken = false;
        const retry = await runbookCli(['retry', handle.workflowId, '--as', 'bob', '--key', inv.key('bob')]);
        assert.equal(retry.code, 0, retry.stderr);
        const after = await waitForProgress(handle, atGate('go-ahead'), 'the retried step to pass');
        const gate = after.failureGates![0];
        const followed = gate.decisions[2];
        assert.deepEqual([gate.outcome, followed.by, followed.key], ['retry', 'bob', inv.fingerprint('bob')]);
        const history = await runbookCli(['history', handle.workflowId]);
        const bobKey = escape(inv.fingerprint('bob'));
        assert.match(history.stdout, new RegExp(`retry by bob at .* via update, signed with ${bobKey}`));
      },
      activities,
    );
  });

  it("makes a signed schedule's creator the initiator of its runs; its signature copied starts nothing", async () => {
    const env = { RUNBOOK_TASK_QUEUE: taskQueue };
    const client = await testClient();
    await withWorker(taskQueue, async () => {
      const create = ['schedule', 'create', 'smoke', '--env', ENV, '--cron', '0 2 1 1 *', '--as', 'olivia'];
      create.push('--key', inv.key('olivia'));
      const before = new Set<string>();
      for await (const wf of client.workflow.list({ query: `RunbookEnv = '${ENV}'` })) before.add(wf.workflowId);
      const created = await runbookCli(create, env);
      assert.equal(created.code, 0, created.stderr);
      try {
        const trigger = await runbookCli(['schedule', 'trigger', 'smoke-signed'], env);
        assert.equal(trigger.code, 0, trigger.stderr);
        const runId = await until('the scheduled run', async () => {
          const query = `RunbookEnv = '${ENV}' AND ExecutionStatus = 'Running'`;
          for await (const wf of client.workflow.list({ query })) if (!before.has(wf.workflowId)) return wf.workflowId;
          return undefined;
        });
        const handle = client.workflow.getHandle(runId);
        started.push(handle);
        const p = await waitForProgress(handle, atGate('go-ahead'));
        assert.deepEqual([p.initiator, p.identity, p.initiatorKey], ['olivia', 'signed', inv.fingerprint('olivia')]);
        const own = await signed(handle, p, 'olivia', inv.key('olivia'));
        await handle.signal(approvalSignal, own);
        const refused = await waitForProgress(handle, (q) => q.approvals.length === 1, 'the refusal to be recorded');
        assert.match(refused.approvals[0].refused ?? '', /olivia started this run and cannot also decide on it/);
        await handle.cancel();
        await assert.rejects(handle.result());

        // The schedule's signature, copied into a run started by hand, proves nothing.
        const schedule = await client.schedule.getHandle('smoke-signed').describe();
        const request = schedule.action.args?.[0] as { proof: Signed };
        const run = prepareRun({ runbook: 'smoke', env: ENV, params: {}, initiator: 'olivia' });
        Object.assign(run.input, { proof: request.proof, schedule: 'smoke-signed' });
        const { admission } = await startRun(client, run, taskQueue);
        const copied = /start refused: it claims schedule smoke-signed but no schedule started it/;
        assert.match(admission.admitted ? '' : admission.reason, copied);
      } finally {
        await runbookCli(['schedule', 'delete', 'smoke-signed'], env);
      }
    });
  });
});

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const found = await probe();
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
