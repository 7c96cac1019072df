// Gauges of the runs waiting at an approval gate, read from visibility (one list call per
// interval, no query to any run): how many wait, by runbook and environment, and how long ago
// the oldest of them started. The run's start bounds its gate's wait from above, which is what
// a "waiting too long" alert needs. Every worker reports the same values: alert on max().
import type { Client } from '@temporalio/client';
import { Runtime } from '@temporalio/worker';
import { RunbookEnvKey, RunbookNameKey } from '../common/shared';

/** At most this many waiting runs are read per interval (a page of the list). */
const MAX_LISTED = 1000;

export function startGateGauges(client: Client, intervalMs: number): () => void {
  const meter = Runtime.instance().metricMeter;
  const waiting = meter.createGauge('runbook_gates_waiting', 'int', 'runs', 'runs waiting at an approval gate now');
  const oldest = meter.createGauge(
    'runbook_gate_oldest_run_age',
    'float',
    'seconds',
    'age of the oldest run waiting at a gate (since it started)',
  );
  const seen = new Set<string>();
  let stopped = false;

  const collect = async () => {
    const counts = new Map<string, { runbook: string; env: string; n: number; oldestStart: number }>();
    let listed = 0;
    const query = `ExecutionStatus = 'Running' AND RunbookState = 'WAITING_APPROVAL'`;
    for await (const wf of client.workflow.list({ query, pageSize: 200 })) {
      if (++listed > MAX_LISTED) break;
      const runbook = String(wf.typedSearchAttributes.get(RunbookNameKey) ?? '?');
      const env = String(wf.typedSearchAttributes.get(RunbookEnvKey) ?? '?');
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
