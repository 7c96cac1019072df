// One batch of a rolling deploy, as a child workflow of its run: the run's own history then
// holds a few events per batch, and each batch's history a few per host, so a 200-host deploy
// stays far below Temporal's history limits. The batch's hosts leave the load balancer
// together (one write), each gets the release, is restarted (once, by marker) and
// health-checked, a bounded number at a time; only healthy hosts go back. A host that fails is
// rolled back to the commit it ran and stays drained. Once more hosts failed than the run's
// budget allows, no further host starts. The same workflow rolls a batch back (`back`): every
// host not already on its previous commit is drained, put back on it, checked and returned.
import { defineQuery, setHandler } from '@temporalio/workflow';
import type * as activities from '../activities';
import type { HostRecord } from '../common/shared';
import { forEachHost, stepActivities } from './kernel';
import { mustBePartOfRun } from './kernel/part-of-run';
import { describe } from './kernel/saga';

const { markUpstream, rollHost, rollBackHost, upstreamServers } = stepActivities<typeof activities>({
  startToCloseTimeout: '15 minutes',
  // Short: a worker killed mid-host is noticed, and the host retried, within seconds.
  heartbeatTimeout: '10 seconds',
});
const { checkHealth } = stepActivities<typeof activities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '500 milliseconds',
    backoffCoefficient: 1.5,
    maximumInterval: '3 seconds',
    maximumAttempts: 8,
  },
});

export interface RollingBatchInput {
  env: string;
  /** The parent run's id: the key of the markers that make each restart act once. */
  runId: string;
  /** 1-based, as operators count. */
  batch: number;
  hosts: string[];
  /** The commit each host gets (forward: the release; back: the commit it ran before). */
  target: Record<string, string>;
  /** Forward only: what a failed host is rolled back to. */
  previous?: Record<string, string>;
  /** Forward only: how many more hosts may fail before no further host starts. */
  budgetLeft?: number;
  concurrency: number;
}

export const batchHostsQuery = defineQuery<HostRecord[]>('hosts');

export async function rollingBatch(input: RollingBatchInput): Promise<HostRecord[]> {
  mustBePartOfRun('rolling-deploy');
  const { env, runId, batch, hosts, target, previous, concurrency } = input;
  const back = previous === undefined;
  const records: HostRecord[] = [];
  setHandler(batchHostsQuery, () => records);
  // Read before draining, so a retried drain never mistakes its own work for an earlier one.
  const wasDrained = new Set(
    (await upstreamServers({ env })).filter((s) => s.down && hosts.includes(s.host)).map((s) => s.host),
  );
  await markUpstream({ env, hosts, down: true });
  let failures = 0;
  let stop = false;
  await forEachHost(hosts, concurrency, async (host) => {
    if (stop) {
      records.push({ host, batch, outcome: 'skipped' });
      return;
    }
    const to = { env, runId, host, commit: target[host] };
    try {
      const { changed } = back ? await rollBackHost(to) : await rollHost(to);
      await checkHealth(to);
      records.push({ host, batch, outcome: back ? (changed ? 'rolled-back' : 'unchanged') : 'changed' });
    } catch (err) {
      failures++;
      if (!back && failures > (input.budgetLeft ?? 0)) stop = true;
      const error = describe(err);
      let rolledBack = false;
      if (!back) {
        try {
          await rollBackHost({ ...to, commit: previous[host] });
          await checkHealth({ ...to, commit: previous[host] });
          rolledBack = true;
        } catch {
          // Stays drained and listed: a human looks at it.
        }
      }
      records.push({ host, batch, outcome: 'failed', error, rolledBack, drained: true });
    }
  });
  // Hosts that were taking traffic go back unless they failed; a host drained before this batch stays so.
  const ready = records.filter((r) => r.outcome !== 'failed' && !wasDrained.has(r.host)).map((r) => r.host);
  if (ready.length) await markUpstream({ env, hosts: ready, down: false });
  return records;
}
