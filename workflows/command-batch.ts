// One batch of a fleet command, as a child workflow of its run (a few events per host here, a
// few per batch in the run): the argv on every host of the batch, a bounded number at a time.
// A non-zero exit, or a host that cannot be reached, is that host's result, not an error.
import { setHandler } from '@temporalio/workflow';
import type * as activities from '../activities';
import type { HostRecord } from '../common/shared';
import { forEachHost, stepActivities } from './kernel';
import { mustBePartOfRun } from './kernel/part-of-run';
import { describe } from './kernel/saga';
import { batchHostsQuery } from './rolling-batch';

const { hostCommand } = stepActivities<typeof activities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '10 seconds',
});

export interface CommandBatchInput {
  env: string;
  runId: string;
  batch: number;
  hosts: string[];
  argv: string[];
  concurrency: number;
}

export async function commandBatch({
  env,
  runId,
  batch,
  hosts,
  argv,
  concurrency,
}: CommandBatchInput): Promise<HostRecord[]> {
  mustBePartOfRun('run-command');
  const records: HostRecord[] = [];
  setHandler(batchHostsQuery, () => records);
  await forEachHost(hosts, concurrency, async (host) => {
    try {
      const r = await hostCommand({ env, runId, host, argv });
      records.push({
        host,
        batch,
        outcome: r.exitCode === 0 ? 'ok' : 'failed',
        exitCode: r.exitCode,
        durationMs: r.durationMs,
        outputTail: r.outputTail,
      });
    } catch (err) {
      records.push({ host, batch, outcome: 'failed', error: describe(err) });
    }
  });
  return records;
}
