// run-command: one argv (never a shell string) on a set of hosts, batch by batch (`--batch 5`),
// each batch a child workflow (see command-batch.ts). Once more hosts failed than
// `--max-failures` allows, no further batch starts and the run fails, saying which hosts ran.
// On a protected environment (the worker reads the inventory) it waits for approval first.
import { ApplicationFailure, executeChild, patched, workflowInfo } from '@temporalio/workflow';
import type * as activities from '../activities';
import { batchStepName, budgetOf, COMMAND_GATE, cutBatches } from '../common/fleet-plan';
import type { HostRecord, RunInput, RunResult } from '../common/shared';
import { paramValues, type ParamsOf } from '../common/params';
import { COMMAND_PARAMS } from '../common/runbook-params';
import { commandBatch } from './command-batch';
import { hostList } from '../common/plan';
import { runbook, stepActivities } from './kernel';
import { FailureType } from '../common/failure-types';

const { selectHosts } = stepActivities<typeof activities>({ startToCloseTimeout: '1 minute' });

export type CommandParams = ParamsOf<typeof COMMAND_PARAMS>;

export async function runCommandOnFleet(input: RunInput<CommandParams>): Promise<RunResult> {
  const { env } = input;
  const params = paramValues(COMMAND_PARAMS, input.params);
  const runId = workflowInfo().workflowId;
  return runbook(input, async (rb) => {
    const selected = await rb.step('select the hosts', {
      run: () => selectHosts({ env, selector: params.hosts }),
      skippable: false,
      reads: true,
      plan: {
        where: 'worker',
        does: `${params.hosts}: the hosts it names, and whether ${env} is protected`,
        found: (s) => `${s.hosts.length} hosts, ${hostList(s.hosts)}${s.protected ? `; ${env} is protected` : ''}`,
      },
    });
    if (selected.protected) await rb.approval(COMMAND_GATE);
    const batches = cutBatches(selected.hosts, params.batch);
    const budget = budgetOf(params['max-failures'], selected.hosts.length);
    const argv = params.argv.map((a) => JSON.stringify(a)).join(' ');
    const failed: HostRecord[] = [];
    for (const [i, hosts] of batches.entries()) {
      await rb.step(batchStepName(i, batches.length, hosts.length), {
        run: async () => {
          const records = await executeChild(commandBatch, {
            workflowId: `${runId}-batch-${i + 1}`,
            args: [{ env, runId, batch: i + 1, hosts, argv: params.argv, concurrency: selected.concurrency }],
          });
          rb.hosts(records);
          // A batch run again from its failure gate counts its hosts once: this attempt's outcome
          // replaces the last one's (before, a retried batch failed on its own earlier failures).
          if (patched('retried-batch-counts-once'))
            for (const r of records) {
              const earlier = failed.findIndex((f) => f.host === r.host);
              if (earlier >= 0) failed.splice(earlier, 1);
            }
          failed.push(...records.filter((r) => r.outcome === 'failed'));
          if (failed.length > budget) {
            const ran = batches.slice(0, i + 1).flat();
            throw ApplicationFailure.nonRetryable(
              `${failed.length} hosts failed (${failed.map((r) => r.host).join(', ')}), at most ${budget} may; ` +
                `stopped after batch ${i + 1}: ran on ${ran.join(', ')}`,
              FailureType.ErrorBudgetSpent,
            );
          }
          const ok = records.filter((r) => r.outcome === 'ok').length;
          return { changed: true, detail: `${ok} of ${records.length} exited 0` };
        },
        skippable: false,
        plan: {
          where: hostList(hosts),
          does: `argv ${argv}; exit code, duration and output tail of each; error budget: ${budget} may fail`,
        },
      });
    }
  });
}
