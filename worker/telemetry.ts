// The worker's log (logging.ts) and Prometheus endpoint: the SDK's own metrics (pollers, task slots, latencies) and
// the engine's (workflows/kernel/metrics.ts, and the gate gauges of gate-gauges.ts), served by
// the SDK's runtime at RUNBOOK_METRICS_ADDRESS (host:port; unset: no endpoint).
import { makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import { JsonLogger, logLevel } from './logging';

const ADDRESS = /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]|localhost):(\d{1,5})$/;

const PROMETHEUS = {
  countersTotalSuffix: true,
  useSecondsForDurations: true,
  // Steps take seconds to minutes; gates wait minutes to days.
  histogramBucketOverrides: {
    runbook_step_duration_seconds: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 7200],
    runbook_gate_wait_seconds: [60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400],
  },
};

/** Installs the SDK runtime, with the endpoint when one is asked for; before any connection. */
export function installTelemetry(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const bindAddress = env.RUNBOOK_METRICS_ADDRESS?.trim();
  if (bindAddress && !(ADDRESS.test(bindAddress) && Number(ADDRESS.exec(bindAddress)![3]) <= 65535)) {
    throw new Error(`RUNBOOK_METRICS_ADDRESS=${JSON.stringify(bindAddress)} is not IP:PORT (e.g. 127.0.0.1:9464)`);
  }
  // RUNBOOK_LOG_LEVEL (docs/logs.md): the SDK's lines, Core's (forwarded) and the engine's, one stream.
  const level = logLevel(env);
  const core = level === 'TRACE' || level === 'DEBUG' ? level : 'WARN';
  Runtime.install({
    logger: new JsonLogger(level),
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core, other: core }), forward: {} },
      ...(bindAddress ? { metrics: { prometheus: { bindAddress, ...PROMETHEUS } } } : {}),
    },
  });
  return bindAddress || undefined;
}
