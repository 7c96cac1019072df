// rolling-deploy: a release over a fleet without colours, batch by batch (`--batches
// 1,25%,100%`: a canary first), each batch a child workflow (see rolling-batch.ts). Within
// the error budget (`--max-failures 2` or `5%`) a failed host is rolled back, left drained and
// listed; past it no new host starts, every changed host is rolled back newest batch first
// (each batch's undo is registered before it starts), and the run ends COMPENSATED. An
// approval after the canary batch where the worker's rules say (protected, or --gate). A host
// that cannot be read before the batches start counts against the same budget: it is drained,
// listed with why and left out, and the rest of the fleet goes on.
//
// With `--analysis <names>`, each batch is judged by the inventory's analyses of the release's
// metrics once it is done (activities/analysis.ts): Failed ends the run and rolls back every
// batch (the same undo), naming the failing metric; Inconclusive (no data, Prometheus
// unreachable, a marginal score) fails the step, so a person decides at its failure gate
// (retry it, go on, or roll back; a run that rolls back at once on failure rolls back);
// `--analysis-mode record-only` records the verdicts and acts on none.
import { ApplicationFailure, executeChild, patched, workflowInfo } from '@temporalio/workflow';
import type * as activities from '../activities';
import { batchStepName, CANARY_GATE } from '../common/fleet-plan';
import type { HostRecord, RunInput, RunResult } from '../common/shared';
import { paramValues, type ParamsOf } from '../common/params';
import { ROLLING_PARAMS } from '../common/runbook-params';
import { hostList, hostWithRole } from '../common/plan';
import { runbook, stepActivities } from './kernel';
import { planMode } from './kernel/plan';
import { rollingBatch } from './rolling-batch';
import { FailureType } from '../common/failure-types';

const { rollingPlan, resolveRef, resolveRefOnFleet, checkedOutCommits, readCommits, markUpstream } = stepActivities<
  typeof activities
>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
});

// An analysis lasts its declared measurements or window; its heartbeats show it alive.
const { pickAnalyses, analyseBatch } = stepActivities<typeof activities>({ startToCloseTimeout: '2 hours' });

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
      reads: true,
      plan: (c) => ({
        where: hostWithRole(c, 'lb'),
        does: 'the web hosts the upstream lists, less any drained; the error budget',
      }),
    });
    const failed: HostRecord[] = [];
    let commit: string;
    let previous: Record<string, string>;
    if (patched('broken-host-left-out')) {
      commit = await rb.step('resolve the ref', {
        run: () => resolveRefOnFleet({ env, hosts: plan.hosts, ref: params.ref }),
        skippable: false,
        reads: true,
        plan: {
          where: `${plan.hosts[0]} (the next host if it cannot be reached)`,
          does: `git fetch; git rev-parse ${params.ref}^{commit}`,
        },
      });
      const read = await rb.step('record the current commits', {
        run: () => readCommits({ env, hosts: plan.hosts }),
        skippable: false,
        reads: true,
        plan: {
          where: hostList(plan.hosts),
          does:
            'git rev-parse HEAD: what a rollback puts back; ' +
            `error budget: ${plan.budget} of ${plan.hosts.length} hosts may fail`,
        },
      });
      previous = read.commits;
      const unreadable = Object.entries(read.unreadable);
      if (unreadable.length) {
        await rb.step('leave out the hosts that cannot be read', {
          run: async () => {
            const hosts = unreadable.map(([host]) => host);
            // Drained, like a host that fails in its batch, and kept so: a person looks at it.
            await markUpstream({ env, hosts, down: true });
            const records = unreadable.map(([host, error]) => leftOut(host, error));
            rb.hosts(records);
            failed.push(...records);
            if (failed.length > plan.budget) throw budgetSpent(failed, plan.budget);
            return { changed: true, detail: `left out: ${hosts.join(', ')}` };
          },
          skippable: false,
          plan: (c) => ({
            where: hostWithRole(c, 'lb'),
            does:
              `drain ${unreadable.map(([host, why]) => `${host} (${why})`).join(', ')}; ` +
              'left out, against the error budget',
          }),
        });
      }
    } else {
      commit = await rb.step('resolve the ref', {
        run: () => resolveRef({ env, host: plan.hosts[0], ref: params.ref }),
        skippable: false,
      });
      previous = await rb.step('record the current commits', {
        run: () => checkedOutCommits({ env, hosts: plan.hosts }),
        skippable: false,
      });
    }
    const target = Object.fromEntries(plan.hosts.map((h) => [h, commit]));
    // Runs recorded before analyses (and runs that ask none) take no analysis step.
    const analysis = params.analysis && patched('analysis-after-batch') ? params.analysis : undefined;
    const recordOnly = params['analysis-mode'] === 'record-only';
    const tighten = params['analysis-tighten'];
    if (analysis)
      await rb.step('check the analyses', {
        run: () => pickAnalyses({ env, analysis, ...(tighten ? { tighten } : {}) }),
        skippable: false,
        reads: true,
        plan: (c) => ({
          where: prometheusShown(c.vars.prometheusUrl),
          does: `the inventory's analyses ${analysis}${tighten ? `, tightened: ${tighten}` : ''}`,
          found: (r) =>
            r.analyses.map((a) => `${a.name} (${a.kind}: ${a.summary})`).join('; ') +
            (r.overruled.length ? `; overruled: ${r.overruled.join('; ')}` : ''),
        }),
      });
    // The hosts on the new release and taking traffic: the canary side of a comparison.
    const upgraded: string[] = [];
    let attempt = 0;
    for (const [i, planned] of plan.batches.entries()) {
      // Four eyes after the canary where the worker's rules say (protected, or --gate). A run
      // always has a second batch: one batch of the whole fleet is refused (common/fleet-plan.ts).
      if (i === 1) await rb.gate(CANARY_GATE);
      const batch = i + 1;
      const hosts = planned.filter((h) => !failed.some((f) => f.host === h));
      // Its every host was left out: the gate above still holds.
      if (!hosts.length) continue;
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
          for (const r of records) {
            const at = upgraded.indexOf(r.host);
            if (at >= 0) upgraded.splice(at, 1);
            if (r.outcome === 'changed') upgraded.push(r.host);
          }
          const failedHere = records.filter((r) => r.outcome === 'failed');
          // A batch run again from its failure gate counts its hosts once, as run-command's does.
          if (patched('retried-batch-counts-once'))
            for (const r of records) {
              const earlier = failed.findIndex((f) => f.host === r.host);
              if (earlier >= 0) failed.splice(earlier, 1);
            }
          failed.push(...failedHere);
          if (failed.length > plan.budget) throw budgetSpent(failed, plan.budget);
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
        plan: (c) => ({
          where: hostList(hosts),
          does:
            `drain from ${hostWithRole(c, 'lb')}; checkout ${commit.slice(0, 12)}, expand migrations, restart, ` +
            'health-check each; put back the healthy ones (a failed host: rolled back, left drained); ' +
            `${plan.hosts.length - hosts.length} hosts keep serving`,
          undo: 'drain, put the previous commit back, restart, check, put back (newest first)',
        }),
      });
      if (analysis) {
        const later = plan.batches
          .slice(i + 1)
          .flat()
          .filter((h) => !failed.some((f) => f.host === h));
        // A dry run changed no host: it measures the hosts as they are, as the batch would find them.
        const canary = planMode()
          ? plan.batches
              .slice(0, i + 1)
              .flat()
              .filter((h) => !failed.some((f) => f.host === h))
          : [...upgraded];
        const name = `analyse batch ${batch}/${plan.batches.length}`;
        let verdict: Awaited<ReturnType<typeof analyseBatch>> | undefined;
        await rb.step(name, {
          run: async () => {
            verdict = await analyseBatch({
              env,
              analysis,
              ...(tighten ? { tighten } : {}),
              batch,
              canary,
              baseline: later,
            });
            if (planMode()) return { ...verdict, detail: `now, before any change: ${verdict.detail}` };
            if (recordOnly) return { ...verdict, detail: `record only, no action: ${verdict.detail}` };
            if (verdict.phase === 'Inconclusive')
              throw ApplicationFailure.nonRetryable(
                `analysis inconclusive after batch ${batch}: ${verdict.reason}`,
                FailureType.AnalysisInconclusive,
                { batch, failing: verdict.failing },
              );
            return verdict;
          },
          skippable: true,
          why: 'a person judged the batch by other means: the run goes on without a verdict',
          reads: true,
          plan: {
            where: `${hostList(canary)} against ${later.length ? hostList(later) : 'no host (thresholds only)'}`,
            does:
              `the analyses ${analysis} on the metrics: Failed rolls back every batch, ` +
              `Inconclusive waits for a person${recordOnly ? ' (record only: neither acts)' : ''}`,
            found: (r) => (r as { detail?: string } | undefined)?.detail ?? '',
          },
        });
        if (verdict?.phase === 'Failed' && !recordOnly && !planMode())
          throw ApplicationFailure.nonRetryable(
            `analysis failed after batch ${batch}: ${verdict.reason}`,
            FailureType.AnalysisFailed,
            { batch, failing: verdict.failing },
          );
      }
    }
  });
}

/** The Prometheus a plan names, without the credentials its URL may carry. */
function prometheusShown(url: string | undefined): string {
  return url ? url.replace(/\/\/[^/@]*@/, '//') : '(no prometheusUrl in the inventory)';
}

function budgetSpent(failed: HostRecord[], budget: number): ApplicationFailure {
  const names = failed.map((r) => r.host).join(', ');
  return ApplicationFailure.nonRetryable(
    `error budget spent: ${failed.length} hosts failed (${names}), at most ${budget} may`,
    FailureType.ErrorBudgetSpent,
  );
}

/** A host left out before the batches (batch 0): drained, not changed, listed with why. */
function leftOut(host: string, error: string): HostRecord {
  return { host, batch: 0, outcome: 'failed', error: `cannot be read: ${error}`, drained: true };
}

function summary(changed: number, failed: HostRecord[]): string {
  const f = failed.map((r) => `${r.host}${r.rolledBack ? ' (rolled back, drained)' : ' (drained; rollback failed)'}`);
  return `${changed} changed${f.length ? `; failed: ${f.join(', ')}` : ''}`;
}
