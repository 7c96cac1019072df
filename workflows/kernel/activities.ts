// How runbooks call their activities. Steps retry a few times with backoff, then fail the run
// into compensation; undos retry longer, since an undo that gives up leaves work for a human.
import { proxyActivities, TimeoutFailure, type ActivityOptions } from '@temporalio/workflow';
import { noteHosts } from './run-log';

/**
 * How long a step may go unheard before another worker takes it over. Every activity heartbeats
 * every 2 s while its worker lives (worker/liveness.ts), so this measures the worker, not
 * the step: one value fits every step, and a SIGKILLed worker's step is retried within about
 * 10 s plus the retry interval. What a step may take in all is its start-to-close timeout.
 */
export const LIVENESS_TIMEOUT = '10 seconds';

/**
 * How often a step is run again when its attempts all ended with their worker lost. A lost
 * worker is not the step failing, so it must not spend the step's attempts (meant for the
 * step's own errors) into a rollback: workers SIGKILLed and a server restarted during one step
 * would otherwise roll back a run that nothing was wrong with. Bounded, so a machine that
 * keeps killing its workers still ends the run.
 */
export const LOST_WORKER_RERUNS = 5;

/**
 * Whether a step's failure is its worker lost: an activity timed out on its heartbeat. The
 * liveness heartbeat (worker/liveness.ts) goes on while its worker lives, however the step
 * fares, so only a dead or unreachable worker (or server) stops it.
 */
export function workerLost(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = (e as { cause?: unknown }).cause) {
    if (e instanceof TimeoutFailure && e.timeoutType === 'HEARTBEAT') return true;
  }
  return false;
}

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

/** A step that may take hours (a dump, a restore): heartbeats keep its worker's loss noticed. */
export const LONG_STEP = { startToCloseTimeout: '6 hours' } as const;

export function stepActivities<A extends object>(options: Partial<ActivityOptions> = {}) {
  return notingHosts(proxyActivities<A>({ ...STEP_OPTIONS, ...options }));
}

export function undoActivities<A extends object>(options: Partial<ActivityOptions> = {}) {
  return notingHosts(proxyActivities<A>({ ...UNDO_OPTIONS, ...options }));
}

/** The activities, each call noting the host its input names for the running step's log line. */
function notingHosts<A extends object>(activities: A): A {
  return new Proxy(activities, {
    get(target, name) {
      const fn = Reflect.get(target, name) as unknown;
      if (typeof fn !== 'function') return fn;
      return (...args: unknown[]) => {
        noteHosts(args[0]);
        return (fn as (...a: unknown[]) => unknown)(...args);
      };
    },
  });
}
