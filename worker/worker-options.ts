// What every worker of ours runs: all runbooks and their activities (the explicit list in
// activities/index.ts, nothing test-only) on one task queue.
import * as fs from 'node:fs';
import { bundleWorkflowCode, type WorkerOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import * as productionActivities from '../activities';
import { dataConverter, failureConverterPath } from '../src/codec/data-converter';
import { taskQueue } from '../src/config';
import { activityBoundary, type ProveStart } from './activity-boundary';
import { activityLogInterceptor } from './activity-log';
import { LIVENESS_BEAT_MS, livenessInterceptor } from './liveness';
import { deploymentOptions } from './versioning';
import { workflowMetricSinks } from './workflow-metrics';

export const workflowsPath = require.resolve('../workflows');

/**
 * A prebuilt bundle (RUNBOOK_WORKFLOW_BUNDLE) skips webpack at start-up, as production workers should.
 * It must be made by bundleWorkflows() (npm run build:bundle), which bakes in the failure converter.
 */
export function workflowSource(
  bundle?: WorkflowBundleWithSourceMap,
): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  if (bundle) return { workflowBundle: bundle };
  const prebuilt = process.env.RUNBOOK_WORKFLOW_BUNDLE;
  if (prebuilt) {
    if (!fs.existsSync(prebuilt))
      throw new Error(`RUNBOOK_WORKFLOW_BUNDLE=${prebuilt} does not exist (npm run build:bundle makes it)`);
    return { workflowBundle: { codePath: prebuilt } };
  }
  return { workflowsPath };
}

/**
 * How long one workflow activation may run. Past it Node's vm timeout cuts it mid-microtask and
 * Node aborts the whole worker ("async hook stack has become corrupted", nodejs/node#38503), so
 * every run on it stalls. A burst of signals reaches a run as one activation, and the SDK records
 * a stack for each promise: 10,000 signals take seconds, more on a busy machine. With the SDK's
 * 5 s, a signal flood to one run killed the worker. Not in WorkerOptions' type ("not exposed at
 * the moment") but taken from the options given, over the SDK's default.
 */
const activationTimeout = { isolateExecutionTimeout: '60 seconds' } as Partial<WorkerOptions>;

/**
 * `activities`: what the worker runs; tests give stand-ins. Its proveStart is also what the
 * activity boundary checks every run's start with.
 */
export function workerOptions(
  bundle?: WorkflowBundleWithSourceMap,
  activities: object & { proveStart: ProveStart } = productionActivities,
): Omit<WorkerOptions, 'connection'> {
  return {
    taskQueue: taskQueue(),
    activities: { ...activities },
    ...workflowSource(bundle),
    // Inputs, results, heartbeats and failures leave the worker sealed by the payload codec.
    dataConverter: dataConverter(),
    // On SIGINT/SIGTERM in-flight activities get this long to finish before they are cancelled;
    // whatever they had not finished is retried by the next worker.
    shutdownGraceTime: '20 seconds',
    // Every activity heartbeats while this worker lives, so a dead worker's step moves on fast;
    // none reads or acts for a caller the worker did not admit (activity-boundary.ts); each
    // admitted one is logged as it starts and ends (activity-log.ts).
    interceptors: {
      activity: [livenessInterceptor, activityBoundary(activities.proveStart), activityLogInterceptor],
    },
    // The engine's metrics from workflow code (workflows/kernel/metrics.ts).
    sinks: workflowMetricSinks(),
    // Heartbeats leave at most every 2 s (the SDK's default would be 80% of the 10 s timeout,
    // leaving a busy machine 2 s to spare before a live worker's step is taken away from it).
    maxHeartbeatThrottleInterval: LIVENESS_BEAT_MS,
    ...activationTimeout,
    // RUNBOOK_BUILD_ID: this worker is that build of a Worker Deployment.
    ...deploymentOptions(),
  };
}

export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, failureConverterPath, logger: quietLogger });
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};
