// A web host that cannot be read before a rolling deploy's batches start is a host, not the
// fleet (issue 25): within the error budget it is drained, listed with why and left out while
// the rest deploys; past the budget the run stops before any host changes. Stub activities,
// where one host's read fails as an unreachable host's does.
import { strict as assert } from 'node:assert';
import { WorkflowFailedError } from '@temporalio/client';
import type { RunResult } from '../common/shared';
import { startTestRun, uniqueQueue, withWorker } from './helpers';
import type { ActivityCall } from './plan-facts';
import { stubActivities } from './stub-activities';

const ENV = 'local';
const BROKEN = 'web-green';
const COMMIT = 'f123456789abcdef0123456789abcdef01234567';

function withBrokenHost(calls: ActivityCall[]) {
  const stubs = stubActivities(calls);
  return {
    ...stubs,
    readCommits: async ({ hosts }: { env: string; hosts: string[] }) => {
      calls.push({ type: 'readCommits', input: { hosts } });
      const readable = hosts.filter((h) => h !== BROKEN);
      return {
        commits: Object.fromEntries(readable.map((h) => [h, COMMIT])),
        unreadable: { [BROKEN]: 'connect ECONNREFUSED 10.213.0.12:22' },
      };
    },
  };
}

const rolled = (calls: ActivityCall[]) =>
  calls.filter((c) => c.type === 'rollHost').map((c) => (c.input as { host: string }).host);

describe('a web host that cannot be read before the batches is left out, not the fleet', function () {
  this.timeout(240_000);

  it('within the budget: drained, listed with why, and the rest of the fleet deploys', async function () {
    const calls: ActivityCall[] = [];
    const queue = uniqueQueue('broken-host');
    const result = await withWorker(
      queue,
      async () => {
        const handle = await startTestRun(queue, {
          runbook: 'rolling-deploy',
          env: ENV,
          params: { ref: 'v1.0.0', batches: '1,100%', 'max-failures': '1' },
        });
        return (await handle.result()) as RunResult;
      },
      withBrokenHost(calls),
    );
    assert.equal(result.state, 'COMPLETED', result.progress.reason);
    assert.deepEqual(rolled(calls), ['web-blue']);
    const drained = calls.find((c) => c.type === 'markUpstream');
    assert.deepEqual(drained?.input, { env: ENV, hosts: [BROKEN], down: true }, 'drained before the batches');
    const record = result.progress.hosts?.find((h) => h.host === BROKEN);
    assert.deepEqual(
      [record?.batch, record?.outcome, record?.drained],
      [0, 'failed', true],
      JSON.stringify(result.progress.hosts),
    );
    assert.match(record?.error ?? '', /cannot be read: connect ECONNREFUSED/);
    assert.deepEqual(
      result.progress.steps.slice(0, 4).map((s) => s.name),
      ['plan the batches', 'resolve the ref', 'record the current commits', 'leave out the hosts that cannot be read'],
    );
  });

  it('past the budget: the run stops before any host changes, naming the host', async function () {
    const calls: ActivityCall[] = [];
    const queue = uniqueQueue('broken-host-budget');
    const err = await withWorker(
      queue,
      async () => {
        const handle = await startTestRun(queue, {
          runbook: 'rolling-deploy',
          env: ENV,
          params: { ref: 'v1.0.0', batches: '1,100%', 'max-failures': '0' },
        });
        return handle.result().then(
          () => undefined,
          (e: unknown) => e,
        );
      },
      withBrokenHost(calls),
    );
    assert.ok(err instanceof WorkflowFailedError, String(err));
    const cause = err.cause as { type?: string; message?: string };
    assert.match(cause.message ?? '', /error budget spent: 1 hosts failed \(web-green\), at most 0 may/);
    assert.equal(cause.type, 'RunbookCompensated', JSON.stringify(cause));
    assert.deepEqual(rolled(calls), [], 'no host changed');
  });
});
