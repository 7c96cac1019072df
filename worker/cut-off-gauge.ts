// A gauge of the runs ended from outside while they were still going: terminated (by anyone who
// can reach Temporal) or past their execution timeout, with a RunbookState that is not a final
// one. Their own code never ran again, their undos neither, so whatever they had changed is
// left for a person (`runbook status` names the steps). Read from visibility, as the gate
// gauges are: one list call per interval, over the last week, no query to any run.
import type { Client } from '@temporalio/client';
import { Runtime } from '@temporalio/worker';
import { RunbookEnvKey, RunbookNameKey } from '../common/shared';
import { RUNBOOKS } from '../src/runbooks';
import { listEnvironments } from '../src/inventory';
import { visibilityLiteral } from './gate-gauges';
import { CutOffNotices, type CutOffRun } from './cut-off-notices';

const WINDOW_MS = 7 * 86_400_000;
const MAX_LISTED = 1000;
/** The states a run is in before it ends by itself. */
const GOING = ['RUNNING', 'WAITING_APPROVAL', 'WAITING_DECISION', 'COMPENSATING'];

export function cutOffQuery(taskQueue: string, workflowTypes: readonly string[], since: Date): string {
  return (
    `ExecutionStatus IN ('Terminated', 'TimedOut') AND CloseTime > '${since.toISOString()}' ` +
    `AND TaskQueue = ${visibilityLiteral(taskQueue)} ` +
    `AND WorkflowType IN (${workflowTypes.map(visibilityLiteral).join(', ')}) ` +
    `AND RunbookState IN (${GOING.map(visibilityLiteral).join(', ')})`
  );
}

export function startCutOffGauge(client: Client, intervalMs: number, taskQueue: string): () => void {
  const gauge = Runtime.instance().metricMeter.createGauge(
    'runbook_runs_cut_off',
    'int',
    'runs',
    'runs terminated or timed out mid-run in the last 7 days: their undos never ran, a person must look',
  );
  const seen = new Set<string>();
  const notices = new CutOffNotices(client, taskQueue);
  let stopped = false;

  const collect = async () => {
    const counts = new Map<string, { runbook: string; env: string; n: number }>();
    const runbooks = new Set(RUNBOOKS.map((r) => r.name));
    const envs = new Set(listEnvironments());
    const known = (value: unknown, names: Set<string>) => (names.has(String(value)) ? String(value) : '?');
    const query = cutOffQuery(
      taskQueue,
      [...new Set(RUNBOOKS.map((r) => r.workflow))],
      new Date(Date.now() - WINDOW_MS),
    );
    let listed = 0;
    const cutOff: CutOffRun[] = [];
    for await (const wf of client.workflow.list({ query, pageSize: 200 })) {
      if (++listed > MAX_LISTED) break;
      const runbook = known(wf.typedSearchAttributes.get(RunbookNameKey), runbooks);
      const env = known(wf.typedSearchAttributes.get(RunbookEnvKey), envs);
      if (runbook !== '?' && env !== '?')
        cutOff.push({ workflowId: wf.workflowId, runbook, env, closedAt: wf.closeTime });
      const key = `${runbook}\u0000${env}`;
      const c = counts.get(key) ?? { runbook, env, n: 0 };
      c.n++;
      counts.set(key, c);
    }
    for (const key of seen) {
      if (counts.has(key)) continue;
      const [runbook, env] = key.split('\u0000');
      gauge.set(0, { runbook, env });
    }
    for (const [key, c] of counts) {
      seen.add(key);
      gauge.set(c.n, { runbook: c.runbook, env: c.env });
    }
    // Each newly cut-off run is told to its environment's targets (cut-off-notices.ts).
    await notices.tell(cutOff);
  };

  const loop = async () => {
    while (!stopped) {
      // A failed listing (server restarting) leaves the last values; the next interval tries again.
      await collect().catch(() => undefined);
      await new Promise((r) => setTimeout(r, intervalMs).unref());
    }
  };
  void loop();
  return () => {
    stopped = true;
  };
}
