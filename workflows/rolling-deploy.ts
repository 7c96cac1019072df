// rolling-deploy: a release over a fleet without colours, batch by batch (`--batches
// 1,25%,100%`: a canary first), each batch a child workflow (see rolling-batch.ts). Within
// the error budget (`--max-failures 2` or `5%`) a failed host is rolled back, left drained and
// listed; past it no new host starts, every changed host is rolled back newest batch first
// (each batch's undo is registered before it starts), and the run ends COMPENSATED. An
// approval after the canary batch where the worker's rules say (protected, or --gate).
import { ApplicationFailure, executeChild, workflowInfo } from '@temporalio/workflow';
import type * as activities from '../activities';
import { batchStepName, CANARY_GATE } from '../common/fleet-plan';
import type { HostRecord, RunInput, RunResult } from '../common/shared';
import { paramValues, type ParamsOf } from '../common/params';
import { ROLLING_PARAMS } from '../common/runbook-params';
import { runbook, stepActivities } from './kernel';
import { rollingBatch } from './rolling-batch';
import { FailureType } from '../common/failure-types';

const { rollingPlan, resolveRef, checkedOutCommits } = stepActivities<typeof activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
});

export type RollingParams = ParamsOf<typeof ROLLING_PARAMS>;

export async function rollingDeploy(input: RunInput<RollingParams>): Promise<RunResult> {
  const { env } = input;
  const params = paramValues(ROLLING_PARAMS, input.params);
  const runId = workflowInfo().workflowId;
  return runbook(input, async (rb) => {
    const plan = await rb.step('plan the batches', {
      run: () =>
        rollingPlan({
          env,
          batches: params.batches,
          maxFailures: params['max-failures'],
        }),
      skippable: false,
    });
    const commit = await rb.step('resolve the ref', {
      run: () => resolveRef({ env, host: plan.hosts[0], ref: params.ref }),
      skippable: false,
    });
    const previous = await rb.step('record the current commits', {
      run: () => checkedOutCommits({ env, hosts: plan.hosts }),
      skippable: false,
    });
    const target = Object.fromEntries(plan.hosts.map((h) => [h, commit]));
    const failed: HostRecord[] = [];
    let attempt = 0;
    for (const [i, hosts] of plan.batches.entries()) {
      // Four eyes after the canary where the worker's rules say (protected, or --gate). A run
      // always has a second batch: one batch of the whole fleet is refused (common/fleet-plan.ts).
      if (i === 1) await rb.gate(CANARY_GATE);
      const batch = i + 1;
      await rb.step(batchStepName(i, plan.batches.length, hosts.length), {
        run: async () => {
          const records = await executeChild(rollingBatch, {
            workflowId: `${runId}-batch-${batch}-${++attempt}`,
            args: [
              {
                env,
                runId,
                batch,
                hosts,
                target,
                previous,
                budgetLeft: plan.budget - failed.length,
                concurrency: plan.concurrency,
              },
            ],
          });
          rb.hosts(records);
          const failedHere = records.filter((r) => r.outcome === 'failed');
          failed.push(...failedHere);
          if (failed.length > plan.budget) {
            const names = failed.map((r) => r.host).join(', ');
            throw ApplicationFailure.nonRetryable(
              `error budget spent: ${failed.length} hosts failed (${names}), at most ${plan.budget} may`,
              FailureType.ErrorBudgetSpent,
            );
          }
          const changed = records.filter((r) => r.outcome === 'changed').length;
          return { changed: changed > 0, detail: summary(changed, failedHere) };
        },
        // Registered before the batch starts: whatever it changed goes back, its newest hosts first.
        undo: async () => {
          const back = [...hosts].reverse();
          const records = await executeChild(rollingBatch, {
            workflowId: `${runId}-undo-batch-${batch}`,
            args: [{ env, runId, batch, hosts: back, target: previous, concurrency: plan.concurrency }],
          });
          // Failed hosts keep their record (rolled back, drained) unless this undo failed on them too.
          rb.hosts(records.filter((r) => r.outcome !== 'unchanged' || !failed.some((f) => f.host === r.host)));
          const stuck = records.filter((r) => r.outcome === 'failed');
          if (stuck.length)
            throw ApplicationFailure.nonRetryable(
              `could not roll back ${stuck.map((r) => r.host).join(', ')}`,
              FailureType.RollbackFailed,
            );
        },
        skippable: false,
      });
    }
  });
}

function summary(changed: number, failed: HostRecord[]): string {
  const f = failed.map((r) => `${r.host}${r.rolledBack ? ' (rolled back, drained)' : ' (drained; rollback failed)'}`);
  return `${changed} changed${f.length ? `; failed: ${f.join(', ')}` : ''}`;
}
