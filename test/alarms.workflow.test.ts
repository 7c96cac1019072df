// Alarms that stop runs, on the dev server with stub activities but the real admission and the
// real alarm activity (activities/alarms.ts) asking a fake Prometheus the test controls: an
// alarm that fires mid-deploy stops it at its next step and undoes it, naming the alarm and
// the value; `then: gate` opens a failure gate; an alarm that cannot be read fires (unless the
// environment says otherwise); break-glass with two signed approvals lets the run through;
// undos are never stopped; and nothing in a run's input turns the alarms off. The alarm fires
// from inside a step (the health check of the idle colour), once the run has read it firing:
// nothing asserts on the clock.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { stringify as stringifyYaml } from 'yaml';
import { proveStart } from '../activities/identity/start';
import { verifySignature, verifySignatures } from '../activities/identity/verify';
import { readAlarms, useInstantQuery, type InstantQuery } from '../activities/alarms';
import { activityKind } from '../activities/registry';
import { signStart } from '../src/identity/sign';
import { newRunId } from '../src/run-id';
import { prepareRun, startRun } from '../src/start';
import type { PromResult } from '../activities/prometheus';
import {
  approvalSignal,
  decideFailureUpdate,
  progressQuery,
  type RunInput,
  type RunProgress,
  type RunResult,
} from '../common/shared';
import { FailureType } from '../common/failure-types';
import { RELEASE_STEPS } from '../common/step-names';
import { bedEnvironment } from './bed-inventory';
import { testClient, uniqueQueue, waitForProgress, withWorker } from './helpers';
import { signedDecision, signedInventory, type SignedInventory } from './identity-keys';
import type { ActivityCall } from './plan-facts';
import { stubActivities } from './stub-activities';

const SIGNED = 'alarmed-signed';
const STARTER = 'olivia';
const PARAMS = { ref: 'v1.0.0', 'rollback-window': '1s' };
const REASON = 'the error rate is the old release: the fix must go out now';
const QUERY = 'sum(rate(http_requests_total{status=~"5.."}[1m])) by (instance) > 0.05';
const QUIET: PromResult = { ok: true, resultType: 'vector', series: [], warnings: [] };
const FIRING: PromResult = {
  ok: true,
  resultType: 'vector',
  series: [{ labels: { instance: 'web1' }, samples: [[1, 0.2]] }],
  warnings: [],
};

/** What the fake Prometheus answers now: the test flips it. */
let answer: PromResult | Error = QUIET;
/** Reads of the alarms that answered, by environment. */
const reads = new Map<string, { all: number; firing: number }>();

const fakePrometheus: InstantQuery = async () => {
  if (answer instanceof Error) throw answer;
  return answer;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The stub activities, the real admission, signatures and alarm reads; the alarm trips in the health check. */
function activities(calls: ActivityCall[]) {
  const stubs = stubActivities(calls);
  let tripped = false;
  return {
    ...stubs,
    proveStart,
    verifySignature,
    verifySignatures,
    readAlarms: async (request: Parameters<typeof readAlarms>[0]) => {
      const read = await readAlarms(request);
      const count = reads.get(request.env) ?? { all: 0, firing: 0 };
      count.all++;
      if (read.firing.length) count.firing++;
      reads.set(request.env, count);
      return read;
    },
    // The alarm begins to fire during the health check; the step ends once the run has read it.
    checkHealth: async (...args: Parameters<typeof stubs.checkHealth>) => {
      const env = args[0].env;
      if (!tripped && !['alarmed-quiet', 'alarmed-remedy'].includes(env)) {
        tripped = true;
        if (!(answer instanceof Error)) answer = FIRING;
        const before = reads.get(env)?.all ?? 0;
        const deadline = Date.now() + 60_000;
        while ((reads.get(env)?.all ?? 0) <= before) {
          if (Date.now() > deadline) throw new Error(`${env}: the run read no alarm within a minute`);
          await sleep(100);
        }
        // The read's completion reaches the server before the step's.
        await sleep(500);
      }
      return stubs.checkHealth(...args);
    },
  };
}

/** What a run did beyond its admission and telling people of its gates. */
const acted = (calls: ActivityCall[]) =>
  calls
    .filter((c) => activityKind(c.type) !== 'admission' && !['notifyApprovers', 'noticeTargets'].includes(c.type))
    .map((c) => c.type);

async function failureOf(handle: WorkflowHandle): Promise<ApplicationFailure> {
  const err = await handle.result().then(
    () => assert.fail('the run completed'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError, String(err));
  return err.cause as ApplicationFailure;
}

describe('alarms stop runs (stub activities, real admission, a fake Prometheus)', function () {
  this.timeout(240_000);
  let inv: SignedInventory;
  let restore: InstantQuery;

  /** Environment `name`, typed, on the test bed's hosts, with `alarms` (none: no alarms). */
  function typedEnv(name: string, alarms?: object): void {
    const env = bedEnvironment(name) as unknown as Record<string, unknown>;
    env.bounds = { rollbackWindow: { min: '1s', max: '1d' } };
    if (alarms) env.alarms = alarms;
    fs.writeFileSync(path.join(inv.dir, `${name}.yaml`), stringifyYaml(env));
  }
  const errorsAlarm = (over: object = {}) => ({ interval: '1s', rules: { errors: { query: QUERY, ...over } } });

  before(function () {
    inv = signedInventory(SIGNED, [STARTER, 'alice', 'bob'], ['alice', 'bob', STARTER], 1, {
      ...bedEnvironment(SIGNED),
      alarms: errorsAlarm(),
    });
    typedEnv('alarmed', errorsAlarm());
    typedEnv('alarmed-gate', errorsAlarm({ then: 'gate' }));
    typedEnv('alarmed-lenient', errorsAlarm({ unreadableFires: false }));
    typedEnv('alarmed-remedy', { ...errorsAlarm(), remediation: ['deploy'] });
    typedEnv('alarmed-quiet');
    restore = useInstantQuery(fakePrometheus);
  });
  after(() => {
    if (restore) useInstantQuery(restore);
    inv?.remove();
  });
  beforeEach(() => {
    answer = QUIET;
    reads.clear();
  });

  /** A typed deploy on `env`, as the CLI starts it. */
  async function deploy(queue: string, env: string): Promise<WorkflowHandle> {
    const run = prepareRun({ runbook: 'deploy', env, params: PARAMS, initiator: STARTER });
    const { handle, admission } = await startRun(await testClient(), run, queue);
    assert.deepEqual(admission, { admitted: true });
    return handle;
  }

  it('undoes a deploy when an alarm fires mid-run, naming the alarm and its value; undos go on', async function () {
    const calls: ActivityCall[] = [];
    const queue = uniqueQueue('alarm-undo');
    await withWorker(
      queue,
      async () => {
        const handle = await deploy(queue, 'alarmed');
        const failure = await failureOf(handle);
        assert.equal(failure.type, FailureType.RunbookCompensated);
        assert.match(
          failure.message,
          /compensated after: alarm errors fired \(0\.2 \{instance="web1"\}\): stopped before switch traffic to /,
        );
        const p = await handle.query(progressQuery);
        assert.equal(p.state, 'COMPENSATED', p.reason);
        assert.equal(p.alarms?.length, 1);
        const { at, before, ...alarm } = p.alarms![0];
        assert.ok(at);
        assert.deepEqual(alarm, {
          alarm: 'errors',
          value: '0.2 {instance="web1"}',
          query: QUERY,
          then: 'undo',
          outcome: 'undone',
        });
        assert.ok(before.startsWith(RELEASE_STEPS.switchTraffic('')), before);
        assert.ok(!acted(calls).includes('switchUpstream'), 'never switched');
        // The alarm still fires while the undos run: none is stopped, all of them ran.
        assert.ok(p.compensations.length > 0, 'something was undone');
        assert.deepEqual(p.leftToUndo, []);
        assert.ok(
          p.compensations.every((c) => c.status === 'done'),
          JSON.stringify(p.compensations),
        );

        // An environment without alarms reads none: no timer, no activity.
        const quiet = await deploy(queue, 'alarmed-quiet');
        const result = (await quiet.result()) as RunResult;
        assert.equal(result.state, 'COMPLETED');
        assert.equal(reads.get('alarmed-quiet'), undefined, 'no alarm read for an environment without alarms');
        assert.equal(result.progress.alarms, undefined);
      },
      activities(calls),
    );
  });

  it('opens a failure gate where the alarm says gate: skipped with a reason, the run goes on', async function () {
    const calls: ActivityCall[] = [];
    const queue = uniqueQueue('alarm-gate');
    await withWorker(
      queue,
      async () => {
        const handle = await deploy(queue, 'alarmed-gate');
        const at = await waitForProgress(handle, (p) => p.failureGate !== undefined, 'the alarm failure gate');
        assert.equal(at.state, 'WAITING_DECISION');
        assert.equal(at.failureGate!.step, 'alarm errors');
        assert.match(at.failureGate!.error, /alarm errors fired \(0\.2 \{instance="web1"\}\): stopped before switch/);
        assert.ok(!acted(calls).includes('switchUpstream'), 'the switch waits for the decision');
        await handle.executeUpdate(decideFailureUpdate, {
          args: [{ decision: 'skip', by: 'alice', comment: 'errors are the canary, known: going on' }],
        });
        const result = (await handle.result()) as RunResult;
        assert.equal(result.state, 'COMPLETED', result.progress.reason);
        assert.equal(result.progress.alarms?.[0].outcome, 'went-on');
        assert.ok(acted(calls).includes('switchUpstream'), 'it switched once past the alarm');
      },
      activities(calls),
    );
  });

  it('counts an alarm it cannot read as firing, unless the environment says otherwise', async function () {
    const calls: ActivityCall[] = [];
    const queue = uniqueQueue('alarm-unreadable');
    await withWorker(
      queue,
      async () => {
        answer = new Error('connect ECONNREFUSED 10.213.0.1:9090');
        const handle = await deploy(queue, 'alarmed');
        await failureOf(handle);
        const p = await handle.query(progressQuery);
        assert.equal(p.state, 'COMPENSATED', p.reason);
        assert.equal(p.alarms?.[0].value, 'unreadable: connect ECONNREFUSED 10.213.0.1:9090');
        assert.equal(p.alarms?.[0].unreadable, true);

        const lenient = await deploy(queue, 'alarmed-lenient');
        const result = (await lenient.result()) as RunResult;
        assert.equal(result.state, 'COMPLETED', result.progress.reason);
        assert.ok((reads.get('alarmed-lenient')?.all ?? 0) > 0, 'it read them');
      },
      activities(calls),
    );
  });

  it('never stops a runbook the environment names as remediation', async function () {
    const calls: ActivityCall[] = [];
    const queue = uniqueQueue('alarm-remedy');
    await withWorker(
      queue,
      async () => {
        answer = FIRING;
        const handle = await deploy(queue, 'alarmed-remedy');
        const result = (await handle.result()) as RunResult;
        assert.equal(result.state, 'COMPLETED', result.progress.reason);
        assert.equal(reads.get('alarmed-remedy'), undefined, 'no alarm read');
      },
      activities(calls),
    );
  });

  it('lets a run through on break-glass: two signed approvals by others, recorded', async function () {
    const calls: ActivityCall[] = [];
    const queue = uniqueQueue('alarm-break-glass');
    await withWorker(
      queue,
      async () => {
        const run = prepareRun({
          runbook: 'deploy',
          env: SIGNED,
          params: PARAMS,
          initiator: STARTER,
          breakGlass: REASON,
        });
        run.input.proof = await signStart(run.input, run.runId, 'default', { as: STARTER, key: inv.key(STARTER) });
        const { handle } = await startRun(await testClient(), run, queue);
        const gate = 'alarm errors fired: go on';
        // Alice approves every gate; bob only the alarm's: two others than the starter.
        const approved = new Set<string>();
        let ended = false;
        const result = (handle.result() as Promise<RunResult>).finally(() => (ended = true));
        while (!ended) {
          const p: RunProgress | undefined = await handle.query(progressQuery).catch(() => undefined);
          if (p?.gate?.nonce && !approved.has(p.gate.nonce)) {
            approved.add(p.gate.nonce);
            if (p.gate.name === gate) {
              assert.equal(p.gate.required, 2);
              assert.ok(!acted(calls).includes('switchUpstream'), 'the switch waits for break-glass');
              await handle.signal(approvalSignal, await signedDecision(handle, 'bob', inv.key('bob')));
            }
            await handle.signal(approvalSignal, await signedDecision(handle, 'alice', inv.key('alice')));
          }
          await Promise.race([result.catch(() => undefined), sleep(200)]);
        }
        const done = await result;
        assert.equal(done.state, 'COMPLETED', done.progress.reason);
        const [record] = done.progress.alarms ?? [];
        assert.deepEqual([record?.alarm, record?.outcome], ['errors', 'went-on']);
        assert.deepEqual([...(record?.approvedBy ?? [])].sort(), ['alice', 'bob']);
        assert.ok(acted(calls).includes('switchUpstream'), 'it deployed through the alarm');
      },
      activities(calls),
    );
  });

  it('is decided on the worker: a raw start whose input asks no alarms is stopped all the same', async function () {
    const calls: ActivityCall[] = [];
    const queue = uniqueQueue('alarm-attack');
    await withWorker(
      queue,
      async () => {
        const runId = newRunId('deploy', 'alarmed');
        // Everything a client could put in: its own "rules", an alarm list, a request to skip them.
        const input = {
          runbook: 'deploy',
          env: 'alarmed',
          params: PARAMS,
          initiator: STARTER,
          asked: { alarms: false, noAlarms: true },
          alarms: { intervalMs: 3_600_000, names: [] },
          policy: { alarms: [] },
        } as unknown as RunInput;
        const client = await testClient();
        const handle = await client.workflow.start('deploy', { taskQueue: queue, workflowId: runId, args: [input] });
        await failureOf(handle);
        const p = await handle.query(progressQuery);
        assert.equal(p.state, 'COMPENSATED', p.reason);
        assert.equal(p.alarms?.[0].alarm, 'errors');
        assert.ok(!acted(calls).includes('switchUpstream'), 'never switched');
      },
      activities(calls),
    );
  });
});
