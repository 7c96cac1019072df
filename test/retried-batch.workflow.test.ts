// A fleet batch run again from its failure gate counts its hosts once: a host that failed the
// first time and succeeds on the retry does not spend the error budget twice (before, a retried
// batch failed on its own earlier failure). Stub activities; one host fails its first attempt.
import { strict as assert } from 'node:assert';
import { ApplicationFailure } from '@temporalio/common';
import { decideFailureUpdate, type RunResult } from '../common/shared';
import { startTestRun, uniqueQueue, waitForProgress, withWorker } from './helpers';
import type { ActivityCall } from './plan-facts';
import { stubActivities } from './stub-activities';

const FLAKY = 'web-green';

/** The stubs, with `type` failing on FLAKY the first time only (non-retryable: the host fails at once). */
function failingOnce(type: 'rollHost' | 'hostCommand') {
  const calls: ActivityCall[] = [];
  let failed = false;
  const stubs = stubActivities(calls);
  const original = stubs[type] as (input: { host: string }) => Promise<unknown>;
  const once = async (input: { host: string }) => {
    if (input.host === FLAKY && !failed) {
      failed = true;
      throw ApplicationFailure.nonRetryable(`${type} failed on ${FLAKY}`, 'CommandFailed');
    }
    return original(input);
  };
  return { ...stubs, [type]: once };
}

const CASES = [
  {
    runbook: 'rolling-deploy',
    params: { ref: 'v1.0.0', batches: '1,100%', 'max-failures': '0' },
    failing: 'rollHost' as const,
  },
  {
    runbook: 'run-command',
    params: { hosts: 'role:web', batch: '1', 'max-failures': '0', argv: ['true'] },
    failing: 'hostCommand' as const,
  },
];

describe('a fleet batch retried at its failure gate counts its hosts once', function () {
  this.timeout(240_000);

  for (const c of CASES) {
    it(`${c.runbook}: the retried batch completes the run`, async function () {
      const queue = uniqueQueue(`retried-${c.runbook}`);
      const result = await withWorker(
        queue,
        async () => {
          const handle = await startTestRun(queue, {
            runbook: c.runbook,
            env: 'local',
            params: c.params,
            onFailure: 'ask',
            failureTimeoutMs: 600_000,
          });
          const at = await waitForProgress(handle, (p) => p.failureGate !== undefined, 'the failure gate');
          assert.match(at.failureGate!.error, /error budget spent|hosts failed/);
          await handle.executeUpdate(decideFailureUpdate, { args: [{ decision: 'retry', by: 'alice' }] });
          return (await handle.result()) as RunResult;
        },
        failingOnce(c.failing),
      );
      assert.equal(result.state, 'COMPLETED', result.progress.reason);
      const record = result.progress.hosts?.find((h) => h.host === FLAKY);
      assert.notEqual(record?.outcome, 'failed', JSON.stringify(result.progress.hosts));
    });
  }
});
