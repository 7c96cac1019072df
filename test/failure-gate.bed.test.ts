// Failure gates on the test bed. A deploy whose idle colour cannot reach its database (a
// firewall rule on that host for the app's user, put in once the release is installed) fails its
// health check and, with
// `--on-failure ask`, waits, also across a killed worker and a restarted server: a retry after
// the rule is removed completes the deploy; a rollback, a timeout or a refused decision leave
// the old colour serving. The kernel's three-step runbook shows skip, a retry that fails
// again, and a cancel at the gate.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { checkedOutCommit, colours } from '../activities';
import { runCommand } from '../activities/hosts';
import { stateDir } from '../src/config';
import { dataConverter } from '../src/codec/data-converter';
import { freePort, startDevServer, type DevServer } from '../dev/dev-server';
import { UsageError } from '../src/errors';
import { loadEnvironment } from '../src/inventory';
import { newRunId } from '../src/run-id';
import { prepareRun, startRun } from '../src/start';
import {
  approvalSignal,
  decideFailureUpdate,
  failureDecisionSignal,
  progressQuery,
  type FailureGateRecord,
  type RunInput,
  type RunProgress,
  type RunResult,
} from '../common/shared';
import { appRunning, served } from './bed-checks';
import { atGate, runbookCli, startTestRun, testClient, uniqueQueue, waitForProgress, withWorker } from './helpers';
import { recordHistory } from './history-recorder';
import { compensated, ended } from './run-ended';
import { startWorkerProcess, type WorkerProcess } from './worker-process';
import { KERNEL_TEST_DIR, THREE_STEPS, type ThreeStepParams } from './workflows';
import { RELEASE_STEPS } from '../common/step-names';

const ASK = { onFailure: 'ask', failureTimeoutMs: 10 * 60_000 };
const RELEASE = { ref: 'v1.1.0', 'rollback-window': '1s' };

// The fault: on the idle colour, the app's user may not open connections to the database once
// the release is installed, so the app started there answers 503 to its health check. The
// install's expand migrations run as that same user, so the rule goes in only when the install
// step is done: the start step that follows takes at least supervisor's startsecs (2 s) before
// the health check asks anything. The table is made before the run, so that moment costs one
// command over a warm connection.
const FIREWALL_TABLE = 'failure_gate_test';

function nftOn(host: string) {
  return (...args: string[]) => runCommand({ env: 'local', host, argv: ['nft', ...args] });
}

async function prepareCut(host: string): Promise<void> {
  const nft = nftOn(host);
  await nft('add', 'table', 'inet', FIREWALL_TABLE);
  await nft('add', 'chain', 'inet', FIREWALL_TABLE, 'out', '{ type filter hook output priority 0 ; }');
}

/** Cuts the app's database on `host` as soon as the run has installed the release there. */
async function cutDatabaseOnceInstalled(handle: WorkflowHandle, host: string): Promise<void> {
  const installed = RELEASE_STEPS.install(host);
  await waitForProgress(
    handle,
    (p) => p.steps.some((s) => s.name === installed && s.status === 'done'),
    `${installed} to be done`,
  );
  const db = loadEnvironment('local').hosts.db.address;
  await nftOn(host)(
    'add',
    'rule',
    'inet',
    FIREWALL_TABLE,
    'out',
    'meta',
    'skuid',
    'app',
    'ip',
    'daddr',
    db,
    'tcp',
    'dport',
    '5432',
    'reject',
    'with',
    'tcp',
    'reset',
  );
}

async function repairDatabase(host: string): Promise<void> {
  await runCommand({
    env: 'local',
    host,
    argv: ['nft', 'delete', 'table', 'inet', FIREWALL_TABLE],
    okExitCodes: [0, 1],
  });
}

const atFailureGate = (p: RunProgress) => p.failureGate !== undefined;

function onlyGate(p: RunProgress): FailureGateRecord {
  assert.equal(p.failureGates?.length, 1, JSON.stringify(p.failureGates));
  return p.failureGates![0];
}

describe('failure gate: a deploy on the test bed', function () {
  const taskQueue = uniqueQueue('failure-gate');

  it('pauses when the idle colour fails its health check; after a repair, retry ends the deploy', async function () {
    await withWorker(taskQueue, async () => {
      const before = await colours({ env: 'local' });
      const servedBefore = await served();
      try {
        await prepareCut(before.idle);
        const handle = await startTestRun(taskQueue, { runbook: 'deploy', env: 'local', params: RELEASE, ...ASK });
        await cutDatabaseOnceInstalled(handle, before.idle);
        const runId = handle.workflowId;
        const waiting = await waitForProgress(handle, atFailureGate, 'the failure gate');
        const gate = waiting.failureGate!;
        assert.equal(waiting.state, 'WAITING_DECISION');
        assert.equal(gate.step, `health-check ${before.idle}`);
        assert.equal(gate.host, `local/${before.idle}`);
        assert.match(gate.error, /health check answered 503/);
        assert.match(gate.outputTail ?? '', /"status": "unhealthy"/);
        assert.equal(gate.skippable, false);
        assert.deepEqual(gate.decisions, []);

        // Nothing was rolled back while the run waits: the old colour serves, the new one runs.
        assert.deepEqual(await served(), servedBefore);
        assert.equal(await appRunning(before.idle), true);

        const status = await runbookCli(['status', runId]);
        assert.equal(status.code, 0, status.stderr);
        assert.match(status.stdout, /WAITING_DECISION/);
        assert.match(
          status.stdout,
          new RegExp(`FAILED: health-check ${before.idle} on local/${before.idle}: .*health check answered 503`),
        );
        assert.match(status.stdout, new RegExp(`runbook retry ${runId} --as <approver>`));
        assert.match(status.stdout, new RegExp(`runbook rollback ${runId} --as <approver>`));
        assert.doesNotMatch(status.stdout, /runbook skip/);
        assert.match(status.stdout, /may not be skipped/);

        await repairDatabase(before.idle);
        const decided = await runbookCli([
          'retry',
          runId,
          '--as',
          'bob',
          '--comment',
          'database reachable again',
          '--json',
        ]);
        assert.equal(decided.code, 0, decided.stderr);
        assert.equal(JSON.parse(decided.stdout).recorded.decision, 'retry');

        const { result } = await ended(handle);
        assert.equal(result.state, 'COMPLETED', result.progress.reason);
        const closed = onlyGate(result.progress);
        assert.equal(closed.outcome, 'retry');
        assert.deepEqual(
          closed.decisions.map((d) => [d.decision, d.by, d.comment, d.via, d.refused]),
          [['retry', 'bob', 'database reachable again', 'update', undefined]],
        );
        assert.equal(result.progress.steps.find((s) => s.name === gate.step)?.status, 'done');

        // The new release serves through the load balancer, from the colour that was idle.
        const commit = await checkedOutCommit({ env: 'local', host: before.idle });
        assert.deepEqual(await served(), { status: 200, commit });
        assert.deepEqual(await colours({ env: 'local' }), { live: before.idle, idle: before.live });
        assert.equal(await appRunning(before.live), false, 'the old colour is stopped after the rollback window');
        await recordHistory(handle, 'deploy-failure-gate-retry');
      } finally {
        await repairDatabase(before.idle);
      }
    });
  });

  it('rolls back on a rollback decision sent as the Web UI does: the old colour serves', async function () {
    await withWorker(taskQueue, async () => {
      const before = await colours({ env: 'local' });
      const servedBefore = await served();
      try {
        await prepareCut(before.idle);
        const handle = await startTestRun(taskQueue, { runbook: 'deploy', env: 'local', params: RELEASE, ...ASK });
        await cutDatabaseOnceInstalled(handle, before.idle);
        await waitForProgress(handle, atFailureGate, 'the failure gate');
        await handle.signal(failureDecisionSignal, {
          decision: 'rollback',
          by: 'alice',
          comment: 'database team is on it',
        });
        const result = await compensated(handle);
        assert.match(
          result.progress.reason ?? '',
          /rollback decided by alice: database team is on it: .*health check answered 503/,
        );
        assert.equal(onlyGate(result.progress).outcome, 'rollback');
        assert.deepEqual(await served(), servedBefore);
        assert.deepEqual(await colours({ env: 'local' }), before);
        assert.equal(await appRunning(before.idle), false, 'the new release is stopped');
        await recordHistory(handle, 'deploy-failure-gate-rollback');
      } finally {
        await repairDatabase(before.idle);
      }
    });
  });

  it('refuses decisions from a non-approver and the initiator, records the signal, keeps waiting', async function () {
    await withWorker(taskQueue, async () => {
      const before = await colours({ env: 'local' });
      const servedBefore = await served();
      try {
        await prepareCut(before.idle);
        const handle = await startTestRun(taskQueue, {
          runbook: 'deploy',
          env: 'local',
          params: RELEASE,
          initiator: 'alice',
          ...ASK,
        });
        await cutDatabaseOnceInstalled(handle, before.idle);
        const runId = handle.workflowId;
        await waitForProgress(handle, atFailureGate, 'the failure gate');

        const stranger = await runbookCli(['retry', runId, '--as', 'mallory']);
        assert.equal(stranger.code, 1);
        assert.match(stranger.stderr, /^refused: mallory is not an approver for local$/m);
        const self = await runbookCli(['rollback', runId, '--as', 'alice', '--json']);
        assert.equal(self.code, 1);
        assert.match(
          JSON.parse(self.stdout).refused,
          /alice started this run and cannot also decide on it \(four eyes\)/,
        );
        await handle.signal(failureDecisionSignal, { decision: 'retry', by: 'mallory', comment: 'let me in' });

        const waiting = await waitForProgress(
          handle,
          (p) => (p.failureGate?.decisions.length ?? 0) > 0,
          'the refused signal to be recorded',
        );
        assert.equal(waiting.state, 'WAITING_DECISION', 'a refused decision leaves the gate open');
        assert.deepEqual(
          waiting.failureGate!.decisions.map((d) => [d.decision, d.by, d.via, d.refused]),
          [['retry', 'mallory', 'signal', 'mallory is not an approver for local']],
        );
        assert.deepEqual(await served(), servedBefore);

        const bob = await runbookCli(['rollback', runId, '--as', 'bob']);
        assert.equal(bob.code, 0, bob.stderr);
        const result = await compensated(handle);
        assert.deepEqual(
          onlyGate(result.progress).decisions.map((d) => [d.by, d.refused === undefined]),
          [
            ['mallory', false],
            ['bob', true],
          ],
        );
        assert.deepEqual(await served(), servedBefore);
        assert.deepEqual(await colours({ env: 'local' }), before);
      } finally {
        await repairDatabase(before.idle);
      }
    });
  });

  it('refuses to skip the health check before the traffic switch', async function () {
    await withWorker(taskQueue, async () => {
      const before = await colours({ env: 'local' });
      const servedBefore = await served();
      try {
        await prepareCut(before.idle);
        const handle = await startTestRun(taskQueue, { runbook: 'deploy', env: 'local', params: RELEASE, ...ASK });
        await cutDatabaseOnceInstalled(handle, before.idle);
        const runId = handle.workflowId;
        await waitForProgress(handle, atFailureGate, 'the failure gate');
        const skipped = await runbookCli(['skip', runId, '--as', 'bob', '--comment', 'it is fine']);
        assert.equal(skipped.code, 1);
        assert.match(
          skipped.stderr,
          new RegExp(`refused: health-check ${before.idle} may not be skipped: retry it or roll back`),
        );
        await handle.signal(failureDecisionSignal, { decision: 'skip', by: 'bob', comment: 'it is fine' });
        const waiting = await waitForProgress(
          handle,
          (p) => (p.failureGate?.decisions.length ?? 0) > 0,
          'the refused signal to be recorded',
        );
        assert.match(waiting.failureGate!.decisions[0].refused ?? '', /may not be skipped/);
        assert.equal(waiting.state, 'WAITING_DECISION');
        assert.equal((await colours({ env: 'local' })).live, before.live, 'traffic did not move');

        await handle.signal(failureDecisionSignal, { decision: 'rollback', by: 'bob' });
        await compensated(handle);
        assert.deepEqual(await served(), servedBefore);
        assert.deepEqual(await colours({ env: 'local' }), before);
      } finally {
        await repairDatabase(before.idle);
      }
    });
  });

  it('waits at the gate through a killed worker; goes on when a new worker gets the decision', async function () {
    const queue = uniqueQueue('failure-gate-kill');
    const before = await colours({ env: 'local' });
    const first = await startWorkerProcess(queue);
    let second;
    try {
      await prepareCut(before.idle);
      const handle = await startTestRun(queue, { runbook: 'deploy', env: 'local', params: RELEASE, ...ASK });
      await cutDatabaseOnceInstalled(handle, before.idle);
      const waiting = await waitForProgress(handle, atFailureGate, 'the failure gate');
      await first.kill('SIGKILL');
      second = await startWorkerProcess(queue);
      const after = await waitForProgress(handle, atFailureGate, 'the failure gate after the restart');
      assert.deepEqual(after.failureGate, waiting.failureGate, 'the same gate, opened at the same time');
      assert.equal(after.state, 'WAITING_DECISION');

      await repairDatabase(before.idle);
      await handle.signal(failureDecisionSignal, { decision: 'retry', by: 'bob', comment: 'fixed the firewall' });
      const { result } = await ended(handle);
      assert.equal(result.state, 'COMPLETED', result.progress.reason);
      assert.equal(onlyGate(result.progress).outcome, 'retry');
      const commit = await checkedOutCommit({ env: 'local', host: before.idle });
      assert.deepEqual(await served(), { status: 200, commit });
      assert.deepEqual(await colours({ env: 'local' }), { live: before.idle, idle: before.live });
    } finally {
      await repairDatabase(before.idle);
      await first.kill('SIGKILL');
      await second?.kill('SIGTERM');
    }
  });

  it('still waits at the gate after the Temporal server and the worker restart, and goes on', async function () {
    // A server of its own, persisted to a file, so that it can be stopped and started again.
    const options = {
      port: await freePort(),
      uiPort: await freePort(),
      dbFile: path.join(stateDir(), 'failure-gate-server', 'temporal.db'),
    };
    const queue = uniqueQueue('failure-gate-server');
    const before = await colours({ env: 'local' });
    let server: DevServer | undefined;
    let worker: WorkerProcess | undefined;
    let client: Client | undefined;
    try {
      await prepareCut(before.idle);
      server = await startDevServer(options);
      const env = { TEMPORAL_ADDRESS: server.address };
      worker = await startWorkerProcess(queue, env);
      client = new Client({
        connection: await Connection.connect({ address: server.address }),
        dataConverter: dataConverter(),
      });
      const run = prepareRun({ runbook: 'deploy', env: 'local', params: RELEASE, initiator: 'operator', ...ASK });
      const { handle } = await startRun(client, run, queue);
      await cutDatabaseOnceInstalled(handle, before.idle);
      const waiting = await waitForProgress(handle, atFailureGate, 'the failure gate');

      await worker.kill('SIGKILL');
      await client.connection.close();
      client = undefined;
      await server.stop();
      server = await startDevServer(options);
      worker = await startWorkerProcess(queue, env);
      client = new Client({
        connection: await Connection.connect({ address: server.address }),
        dataConverter: dataConverter(),
      });

      const again = client.workflow.getHandle(run.runId);
      const after = await waitForProgress(again, atFailureGate, 'the failure gate after the restarts');
      assert.deepEqual(after.failureGate, waiting.failureGate, 'the same gate, opened at the same time');
      await repairDatabase(before.idle);
      await again.signal(failureDecisionSignal, { decision: 'retry', by: 'alice' });
      const { result } = await ended(again);
      assert.equal(result.state, 'COMPLETED', result.progress.reason);
      const commit = await checkedOutCommit({ env: 'local', host: before.idle });
      assert.deepEqual(await served(), { status: 200, commit });
      assert.deepEqual(await colours({ env: 'local' }), { live: before.idle, idle: before.live });
    } finally {
      await repairDatabase(before.idle);
      await worker?.kill('SIGTERM');
      await client?.connection.close();
      await server?.stop();
    }
  });

  it('rolls back when no decision comes before the gate times out', async function () {
    await withWorker(taskQueue, async () => {
      const before = await colours({ env: 'local' });
      const servedBefore = await served();
      try {
        await prepareCut(before.idle);
        const handle = await startTestRun(taskQueue, {
          runbook: 'deploy',
          env: 'local',
          params: RELEASE,
          onFailure: 'ask',
          failureTimeoutMs: 3000,
        });
        await cutDatabaseOnceInstalled(handle, before.idle);
        const result = await compensated(handle);
        assert.match(
          result.progress.reason ?? '',
          new RegExp(`health-check ${before.idle}: no decision at its failure gate within 3s`),
        );
        assert.equal(onlyGate(result.progress).outcome, 'timed_out');
        assert.deepEqual(await served(), servedBefore);
        assert.deepEqual(await colours({ env: 'local' }), before);
        assert.equal(await appRunning(before.idle), false);
      } finally {
        await repairDatabase(before.idle);
      }
    });
  });
});

/** Runs the kernel's three-step runbook (test/workflows.ts) on web-blue, web-green and db. */
async function startThreeSteps(
  taskQueue: string,
  params: ThreeStepParams,
  onFailure: RunInput['onFailure'],
): Promise<WorkflowHandle> {
  const input: RunInput = {
    runbook: 'three-steps',
    env: 'local',
    params,
    initiator: 'operator',
    approval: { required: 1, approvers: ['alice', 'bob'], timeoutMs: 60_000 },
    mutating: false,
    onFailure,
  };
  return (await testClient()).workflow.start('threeSteps', {
    taskQueue,
    workflowId: newRunId('three-steps', 'local'),
    args: [input],
  });
}

/** Each step's journal on its host ("do", "undo") and whether its file is there. */
async function onHosts(runId: string): Promise<Record<string, { file: boolean; journal: string[] }>> {
  const seen: Record<string, { file: boolean; journal: string[] }> = {};
  for (const [step, host] of THREE_STEPS) {
    const key = `${runId}.${step}`;
    const file =
      (await runCommand({ env: 'local', host, argv: ['test', '-e', `${KERNEL_TEST_DIR}/${key}`], okExitCodes: [0, 1] }))
        .exitCode === 0;
    const journal = (
      await runCommand({ env: 'local', host, argv: ['cat', `${KERNEL_TEST_DIR}/journal`], okExitCodes: [0, 1] })
    ).stdout
      .split('\n')
      .filter((l) => l.endsWith(` ${key}`))
      .map((l) => l.split(' ')[0]);
    seen[step] = { file, journal };
  }
  return seen;
}

describe('failure gate: the kernel on the test bed', function () {
  const taskQueue = uniqueQueue('failure-gate-kernel');
  const ask = { policy: 'ask' as const, timeoutMs: 10 * 60_000 };

  it("skips a skippable step on an approver's word, records who and why, and goes on", async function () {
    await withWorker(taskQueue, async () => {
      const handle = await startThreeSteps(taskQueue, { failAt: 'second' }, ask);
      const runId = handle.workflowId;
      const waiting = await waitForProgress(handle, atFailureGate, 'the failure gate');
      assert.equal(waiting.failureGate!.step, 'second');
      assert.equal(waiting.failureGate!.host, 'local/web-green');
      assert.match(waiting.failureGate!.error, /exited with 1/);
      assert.equal(waiting.failureGate!.skippable, true);

      const noReason = await runbookCli(['skip', runId, '--as', 'bob']);
      assert.equal(noReason.code, 2);
      assert.match(noReason.stderr, /skip needs --comment saying why/);
      await assert.rejects(
        handle.executeUpdate(decideFailureUpdate, { args: [{ decision: 'skip', by: 'bob' }] }),
        (err) => err instanceof WorkflowUpdateFailedError && /skip needs a comment/.test(err.cause?.message ?? ''),
      );
      const skipped = await runbookCli(['skip', runId, '--as', 'bob', '--comment', 'second is done by hand']);
      assert.equal(skipped.code, 0, skipped.stderr);

      const { result } = await ended(handle);
      assert.equal(result.state, 'COMPLETED');
      assert.deepEqual(
        result.progress.steps.map((s) => [s.name, s.status]),
        [
          ['first', 'done'],
          ['second', 'skipped'],
          ['third', 'done'],
        ],
      );
      const gate = onlyGate(result.progress);
      assert.equal(gate.outcome, 'skip');
      assert.deepEqual(
        gate.decisions.map((d) => [d.decision, d.by, d.comment]),
        [['skip', 'bob', 'second is done by hand']],
      );
      const hosts = await onHosts(runId);
      assert.deepEqual(hosts.first, { file: true, journal: ['do'] });
      assert.deepEqual(hosts.second.journal, ['do', 'do'], 'the failed step ran its two attempts and no more');
      assert.deepEqual(hosts.third, { file: true, journal: ['do'] });
    });
  });

  it('opens a new gate when a retried step fails again; a rollback then undoes every step', async function () {
    await withWorker(taskQueue, async () => {
      const handle = await startThreeSteps(taskQueue, { failAt: 'third' }, ask);
      const runId = handle.workflowId;
      await waitForProgress(handle, atFailureGate, 'the first failure gate');
      await handle.signal(failureDecisionSignal, { decision: 'retry', by: 'alice' });
      await waitForProgress(
        handle,
        (p) => p.failureGates?.length === 2 && p.failureGate !== undefined,
        'the second failure gate',
      );
      await handle.signal(failureDecisionSignal, { decision: 'rollback', by: 'bob', comment: 'still failing' });
      const result = await compensated(handle);
      assert.deepEqual(
        result.progress.failureGates?.map((g) => [g.step, g.outcome]),
        [
          ['third', 'retry'],
          ['third', 'rollback'],
        ],
      );
      assert.deepEqual(
        result.progress.compensations.map((c) => [c.step, c.status]),
        [
          ['third', 'done'],
          ['second', 'done'],
          ['first', 'done'],
        ],
      );
      const hosts = await onHosts(runId);
      assert.deepEqual(
        hosts.third,
        { file: false, journal: ['do', 'do', 'do', 'do', 'undo'] },
        'two attempts, two more after the retry, one undo',
      );
      assert.deepEqual([hosts.first.file, hosts.second.file], [false, false]);
    });
  });

  it('rolls back when the run is cancelled while waiting at a failure gate', async function () {
    await withWorker(taskQueue, async () => {
      const handle = await startThreeSteps(taskQueue, { failAt: 'second' }, ask);
      await waitForProgress(handle, atFailureGate, 'the failure gate');
      const cancelled = await runbookCli(['cancel', handle.workflowId]);
      assert.equal(cancelled.code, 0, cancelled.stderr);
      await assert.rejects(handle.result(), /cancel/i);
      const p = await handle.query(progressQuery);
      assert.equal(p.state, 'COMPENSATED');
      assert.equal(p.failureGate, undefined);
      assert.equal(onlyGate(p).outcome, 'cancelled');
      assert.deepEqual(
        p.compensations.map((c) => [c.step, c.status]),
        [
          ['second', 'done'],
          ['first', 'done'],
        ],
      );
      const hosts = await onHosts(handle.workflowId);
      assert.deepEqual([hosts.first.file, hosts.second.file, hosts.third.journal], [false, false, []]);
    });
  });

  it('rolls back at once with the default policy (compensate), opening no gate', async function () {
    await withWorker(taskQueue, async () => {
      const handle = await startThreeSteps(taskQueue, { failAt: 'first' }, undefined);
      const result = await compensated(handle);
      assert.equal(result.progress.failureGates, undefined);
      assert.deepEqual(
        result.progress.steps.map((s) => [s.name, s.status]),
        [['first', 'compensated']],
      );
    });
  });
});

describe('failure gate: the policy, checked before anything runs', function () {
  it("defaults to the inventory's onFailure, is tightened by --on-failure ask, and refuses anything else", function () {
    assert.deepEqual(
      prepareRun({ runbook: 'smoke', env: 'test', params: {}, initiator: 'operator' }).policy.applied.onFailure,
      { policy: 'compensate', timeoutMs: 10 * 60_000 },
    );
    assert.deepEqual(
      prepareRun({
        runbook: 'smoke',
        env: 'test',
        params: {},
        initiator: 'operator',
        onFailure: 'ask',
        failureTimeoutMs: 5000,
      }).policy.applied.onFailure,
      { policy: 'ask', timeoutMs: 5000 },
    );
    assert.throws(
      () => prepareRun({ runbook: 'smoke', env: 'test', params: {}, initiator: 'operator', onFailure: 'sometimes' }),
      (err) =>
        err instanceof UsageError && /--on-failure "sometimes" is not valid: compensate or ask/.test(err.message),
    );

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'failure-gate-inventory-'));
    const saved = process.env.RUNBOOK_INVENTORY_DIR;
    try {
      fs.writeFileSync(
        path.join(dir, 'asking.yaml'),
        [
          'environment: asking',
          'onFailure: ask',
          'approvals: { approvers: [bob], timeout: 20m }',
          'hosts:',
          '  worker: { address: 127.0.0.1 }',
          '',
        ].join('\n'),
      );
      fs.writeFileSync(
        path.join(dir, 'wrong.yaml'),
        'environment: wrong\nonFailure: retry-forever\nhosts:\n  worker: { address: 127.0.0.1 }\n',
      );
      process.env.RUNBOOK_INVENTORY_DIR = dir;
      assert.deepEqual(
        prepareRun({ runbook: 'smoke', env: 'asking', params: {}, initiator: 'operator' }).policy.applied.onFailure,
        { policy: 'ask', timeoutMs: 20 * 60_000 },
      );
      // A request may only tighten: rolling back at once where the environment asks a person is refused.
      assert.throws(
        () =>
          prepareRun({ runbook: 'smoke', env: 'asking', params: {}, initiator: 'operator', onFailure: 'compensate' }),
        (err) =>
          err instanceof UsageError &&
          /asked to roll back at once on failure; asking asks an approver/.test(err.message),
      );
      assert.throws(
        () => prepareRun({ runbook: 'smoke', env: 'wrong', params: {}, initiator: 'operator' }),
        /onFailure: must be equal to one of the allowed values/,
      );
    } finally {
      process.env.RUNBOOK_INVENTORY_DIR = saved;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a bad --on-failure or --failure-timeout before connecting; dry run shows the policy', async function () {
    const unreachable = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
    const policy = await runbookCli(['start', 'smoke', '--env', 'test', '--on-failure', 'sometimes'], unreachable);
    assert.equal(policy.code, 2);
    assert.match(policy.stderr, /--on-failure "sometimes" is not valid/);
    const timeout = await runbookCli(
      ['start', 'smoke', '--env', 'test', '--on-failure', 'ask', '--failure-timeout', 'soon'],
      unreachable,
    );
    assert.equal(timeout.code, 2);
    assert.match(timeout.stderr, /--failure-timeout.*expected a duration/);
    const dryQueue = uniqueQueue('failure-gate-dry-run');
    const dryRun = await withWorker(dryQueue, () =>
      runbookCli(['start', 'smoke', '--env', 'test', '--on-failure', 'ask', '--failure-timeout', '90s', '--dry-run'], {
        RUNBOOK_TASK_QUEUE: dryQueue,
      }),
    );
    assert.equal(dryRun.code, 0, dryRun.stderr);
    assert.match(dryRun.stdout, /on a failed step: wait up to 90s for retry, rollback or skip \(ask\), then roll back/);
  });

  it('fails a run started with a malformed policy before any step', async function () {
    const taskQueue = uniqueQueue('failure-gate-input');
    await withWorker(taskQueue, async () => {
      const handle = await startThreeSteps(taskQueue, {}, {
        policy: 'pray',
        timeoutMs: 1000,
      } as unknown as RunInput['onFailure']);
      const { failure } = await ended(handle);
      assert.equal(failure?.type, 'BadInput');
      assert.match(failure?.message ?? '', /invalid onFailure/);
      assert.deepEqual(
        await onHosts(handle.workflowId),
        Object.fromEntries(THREE_STEPS.map(([s]) => [s, { file: false, journal: [] }])),
      );
    });
  });

  it('refuses a failure decision sent to a run without a failure gate, and records the signal', async function () {
    const taskQueue = uniqueQueue('failure-gate-stray');
    await withWorker(taskQueue, async () => {
      const handle = await startTestRun(taskQueue, { runbook: 'smoke' });
      await waitForProgress(handle, atGate('go-ahead'));
      const ran = await runbookCli(['retry', handle.workflowId, '--as', 'bob']);
      assert.equal(ran.code, 1);
      assert.match(ran.stderr, /refused: this run rolls back on failure \(policy compensate\): it has no failure gate/);
      await handle.signal(failureDecisionSignal, { decision: 'skip', by: 'bob', comment: 'x' });
      const p = await waitForProgress(
        handle,
        (q) => (q.strayDecisions?.length ?? 0) > 0,
        'the stray decision to be recorded',
      );
      assert.match(p.strayDecisions![0].refused ?? '', /no failure gate/);
      await handle.signal(approvalSignal, { approver: 'bob', decision: 'approve' });
      assert.equal(((await handle.result()) as RunResult).state, 'COMPLETED');
    });
  });
});
