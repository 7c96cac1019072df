// Blue/green over groups with an error budget (issue 25): a host of the new colour that fails is
// left out and listed, and traffic moves to the others only when they reach the capacity floor
// (`--min-capacity` of the hosts serving now). Without a budget any failed host rolls the run
// back, as before. Stub activities, where named hosts fail as an unreachable host does.
import { strict as assert } from 'node:assert';
import { WorkflowFailedError } from '@temporalio/client';
import type { RunResult } from '../common/shared';
import { startTestRun, uniqueQueue, withWorker } from './helpers';
import type { ActivityCall } from './plan-facts';
import { stubActivities } from './stub-activities';

const ENV = 'local';
const BLUE = ['b-1', 'b-2', 'b-3', 'b-4', 'b-5'];
const GREEN = ['g-1', 'g-2', 'g-3', 'g-4', 'g-5'];

/** Stubs with colours of five hosts each, where `broken` hosts fail at `stage`. */
function withColours(calls: ActivityCall[], broken: string[], stage: 'installRelease' | 'checkHealth') {
  const stubs = stubActivities(calls);
  const failing =
    <I extends { host: string }>(fn: (input: I) => Promise<unknown>) =>
    async (input: I) => {
      if (broken.includes(input.host)) throw new Error(`connect ECONNREFUSED (${input.host})`);
      return fn(input);
    };
  return {
    ...stubs,
    colourGroups: async () => ({
      live: { colour: 'blue', hosts: BLUE },
      idle: { colour: 'green', hosts: GREEN },
      concurrency: 10,
    }),
    [stage]: failing(stubs[stage] as (input: { host: string }) => Promise<unknown>),
  };
}

async function deploy(params: Record<string, string>, stubs: ReturnType<typeof withColours>): Promise<unknown> {
  const queue = uniqueQueue('blue-green-left-out');
  return withWorker(
    queue,
    async () => {
      const handle = await startTestRun(queue, { runbook: 'deploy', env: ENV, params: { ref: 'v1.0.0', ...params } });
      return handle.result().then(
        (r) => r as RunResult,
        (e: unknown) => e,
      );
    },
    stubs,
  );
}

const switchedTo = (calls: ActivityCall[]) =>
  calls.filter((c) => c.type === 'switchUpstream').map((c) => (c.input as { hosts?: string[] }).hosts);

describe('blue/green leaves failed hosts of the new colour out, above a capacity floor', function () {
  this.timeout(240_000);

  it('within the budget and above the floor: the healthy hosts take traffic, the others are listed', async function () {
    const calls: ActivityCall[] = [];
    const stubs = withColours(calls, ['g-2'], 'checkHealth');
    const params = { 'max-failures': '1', 'min-capacity': '80%', 'rollback-window': '1s' };
    const result = (await deploy(params, stubs)) as RunResult;
    assert.equal(result.state, 'COMPLETED', result.progress.reason);
    assert.deepEqual(switchedTo(calls), [['g-1', 'g-3', 'g-4', 'g-5']]);
    const record = result.progress.hosts?.find((h) => h.host === 'g-2');
    assert.equal(record?.outcome, 'failed', JSON.stringify(result.progress.hosts));
    assert.match(record?.error ?? '', /left out at health check: .*ECONNREFUSED/);
    const stopped = calls.filter((c) => c.type === 'stopApp').map((c) => (c.input as { host: string }).host);
    assert.ok(stopped.includes('g-2'), `the left-out host's app is stopped: ${stopped.join(', ')}`);
    const floor = result.progress.steps.find((s) => s.name === 'check the capacity floor');
    assert.equal(floor?.status, 'done', JSON.stringify(result.progress.steps.map((s) => [s.name, s.status])));
  });

  it('below the floor: nothing switches and the new colour is stopped', async function () {
    const calls: ActivityCall[] = [];
    const stubs = withColours(calls, ['g-1', 'g-2'], 'installRelease');
    const params = { 'max-failures': '2', 'min-capacity': '80%' };
    const err = await deploy(params, stubs);
    assert.ok(err instanceof WorkflowFailedError, String(err));
    const cause = err.cause as { type?: string; message?: string };
    assert.equal(cause.type, 'RunbookCompensated', JSON.stringify(cause));
    assert.match(cause.message ?? '', /3 of 5 hosts of the new colour are healthy; traffic moves to at least 4/);
    assert.deepEqual(switchedTo(calls), [], 'traffic never moved');
  });

  it('past the budget: the run rolls back naming the hosts', async function () {
    const calls: ActivityCall[] = [];
    const stubs = withColours(calls, ['g-1', 'g-2'], 'installRelease');
    const err = await deploy({ 'max-failures': '1' }, stubs);
    assert.ok(err instanceof WorkflowFailedError, String(err));
    const cause = err.cause as { message?: string };
    assert.match(cause.message ?? '', /error budget spent: 2 hosts failed \(g-1, g-2\), at most 1 may/);
    assert.deepEqual(switchedTo(calls), []);
  });

  it('without a budget a failed host fails the step, as before', async function () {
    const calls: ActivityCall[] = [];
    const stubs = withColours(calls, ['g-3'], 'checkHealth');
    const err = await deploy({}, stubs);
    assert.ok(err instanceof WorkflowFailedError, String(err));
    assert.match((err.cause as { message?: string }).message ?? '', /1 of 5 hosts failed: g-3/);
    assert.deepEqual(switchedTo(calls), []);
  });
});
