// How runbooks call their activities. Steps retry a few times with backoff, then fail the run
// into compensation; undos retry longer, since an undo that gives up leaves work for a human.
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';

/**
 * How long a step may go unheard before another worker takes it over. Every activity heartbeats
 * every 2 s while its worker lives (worker/liveness.ts), so this measures the worker, not
 * the step: one value fits every step, and a SIGKILLed worker's step is retried within about
 * 10 s plus the retry interval. What a step may take in all is its start-to-close timeout.
 */
export const LIVENESS_TIMEOUT = '10 seconds';

export const STEP_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: LIVENESS_TIMEOUT,
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 3 },
};

export const UNDO_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: LIVENESS_TIMEOUT,
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
};

export function stepActivities<A extends object>(options: Partial<ActivityOptions> = {}) {
  return proxyActivities<A>({ ...STEP_OPTIONS, ...options });
}

export function undoActivities<A extends object>(options: Partial<ActivityOptions> = {}) {
  return proxyActivities<A>({ ...UNDO_OPTIONS, ...options });
}
