// How runbooks call their activities. Steps retry a few times with backoff, then fail the run
// into compensation; undos retry longer, since an undo that gives up leaves work for a human.
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';

export const STEP_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 3 },
};

export const UNDO_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
};

export function stepActivities<A extends object>(options: Partial<ActivityOptions> = {}) {
  return proxyActivities<A>({ ...STEP_OPTIONS, ...options });
}

export function undoActivities<A extends object>(options: Partial<ActivityOptions> = {}) {
  return proxyActivities<A>({ ...UNDO_OPTIONS, ...options });
}
