// Gauges of the runs waiting at a gate, read from visibility (one list call per kind of gate
// and interval, no query to any run): how many wait, by runbook and environment, and how long
// ago the oldest of them started. Approval gates (WAITING_APPROVAL) and failure gates
// (WAITING_DECISION: a step failed and the run, half applied, waits for retry, rollback or skip)
// each have their pair. The run's start bounds its gate's wait from above, which is what
// a "waiting too long" alert needs. Every worker reports the same values: alert on max().
//
// A search attribute says what its run (or anyone starting a workflow) set: anyone who can reach
// Temporal can start an execution tagged WAITING_APPROVAL. Only runs on the engine's own task
// queue and of its own workflow types are counted, and their runbook and environment tags are
// counted only when they name a runbook and environment this worker knows.
import type { Client } from '@temporalio/client';
import type { MetricGauge } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import { RunbookEnvKey, RunbookNameKey } from '../common/shared';
import { RUNBOOKS } from '../src/runbooks';
import { listEnvironments } from '../src/inventory';

/** At most this many waiting runs are read per interval (a page of the list). */
const MAX_LISTED = 1000;

/** A name as a visibility query's string literal; a name that would need quoting is refused. */
export function visibilityLiteral(name: string): string {
  if (!/^[A-Za-z0-9_.:@/-]+$/.test(name))
    throw new Error(`${JSON.stringify(name)} cannot be named in a visibility query`);
  return `'${name}'`;
}

/** The states of a run waiting at a gate, by kind of gate. */
export const WAITING_STATES = { approval: 'WAITING_APPROVAL', failure: 'WAITING_DECISION' } as const;

/** Runs waiting at a gate (approval unless `state` says): on `taskQueue`, of one of the engine's runbook workflows. */
export function waitingQuery(
  taskQueue: string,
  workflowTypes: readonly string[],
  state: (typeof WAITING_STATES)[keyof typeof WAITING_STATES] = WAITING_STATES.approval,
): string {
  return (
    `ExecutionStatus = 'Running' AND RunbookState = ${visibilityLiteral(state)} ` +
    `AND TaskQueue = ${visibilityLiteral(taskQueue)} ` +
    `AND WorkflowType IN (${workflowTypes.map(visibilityLiteral).join(', ')})`
  );
}

export function startGateGauges(client: Client, intervalMs: number, taskQueue: string): () => void {
  const meter = Runtime.instance().metricMeter;
  const approval = collector(client, taskQueue, WAITING_STATES.approval, {
    waiting: meter.createGauge('runbook_gates_waiting', 'int', 'runs', 'runs waiting at an approval gate now'),
    oldest: meter.createGauge(
      'runbook_gate_oldest_run_age_seconds',
      'float',
      'seconds',
      'age of the oldest run waiting at a gate (since it started)',
    ),
  });
  const failure = collector(client, taskQueue, WAITING_STATES.failure, {
    waiting: meter.createGauge(
      'runbook_failure_gates_waiting',
      'int',
      'runs',
      'runs waiting at a failure gate now: a step failed, the change is half applied',
    ),
    oldest: meter.createGauge(
      'runbook_failure_gate_oldest_run_age_seconds',
      'float',
      'seconds',
      'age of the oldest run waiting at a failure gate (since it started)',
    ),
  });
  let stopped = false;

  const loop = async () => {
    while (!stopped) {
      // A failed listing (server restarting) leaves the last values; the next interval tries again.
      await approval().catch(() => undefined);
      await failure().catch(() => undefined);
      await new Promise((r) => setTimeout(r, intervalMs).unref());
    }
  };
  void loop();
  return () => {
    stopped = true;
  };
}

/** One reading of the pair of gauges of runs in `state`. */
function collector(
  client: Client,
  taskQueue: string,
  state: (typeof WAITING_STATES)[keyof typeof WAITING_STATES],
  { waiting, oldest }: { waiting: MetricGauge; oldest: MetricGauge },
): () => Promise<void> {
  const seen = new Set<string>();
  return async () => {
    const counts = new Map<string, { runbook: string; env: string; n: number; oldestStart: number }>();
    let listed = 0;
    const query = waitingQuery(taskQueue, [...new Set(RUNBOOKS.map((r) => r.workflow))], state);
    const runbooks = new Set(RUNBOOKS.map((r) => r.name));
    const envs = new Set(listEnvironments());
    for await (const wf of client.workflow.list({ query, pageSize: 200 })) {
      if (++listed > MAX_LISTED) break;
      const known = (value: unknown, names: Set<string>) => (names.has(String(value)) ? String(value) : '?');
      const runbook = known(wf.typedSearchAttributes.get(RunbookNameKey), runbooks);
      const env = known(wf.typedSearchAttributes.get(RunbookEnvKey), envs);
      const key = `${runbook}\u0000${env}`;
      const c = counts.get(key) ?? { runbook, env, n: 0, oldestStart: Infinity };
      c.n++;
      c.oldestStart = Math.min(c.oldestStart, wf.startTime.getTime());
      counts.set(key, c);
    }
    for (const key of seen) {
      if (counts.has(key)) continue;
      const [runbook, env] = key.split('\u0000');
      waiting.set(0, { runbook, env });
      oldest.set(0, { runbook, env });
    }
    for (const [key, c] of counts) {
      seen.add(key);
      waiting.set(c.n, { runbook: c.runbook, env: c.env });
      oldest.set((Date.now() - c.oldestStart) / 1000, { runbook: c.runbook, env: c.env });
    }
  };
}
