// A line when an activity starts and when it ends, for every activity the boundary admitted:
// which run (its id, runbook and environment), which host, which attempt, and how it ended.
// Installed after the boundary (worker-options.ts), so a refused call logs only its refusal.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import {
  Runtime,
  type ActivityExecuteInput,
  type ActivityInboundCallsInterceptor,
  type Next,
} from '@temporalio/worker';
import { admittedRun } from './activity-boundary';

/** The host or hosts an activity's input names (`host`, `hosts`), bounded: it came from a run. */
export function hostsOf(input: unknown): string | undefined {
  const arg = input as { host?: unknown; hosts?: unknown } | undefined;
  if (typeof arg?.host === 'string') return arg.host.slice(0, 200);
  if (Array.isArray(arg?.hosts)) return arg.hosts.slice(0, 20).map(String).join(',').slice(0, 400);
  return undefined;
}

class ActivityLog implements ActivityInboundCallsInterceptor {
  constructor(private readonly ctx: Context) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const { info } = this.ctx;
    const run = admittedRun(this.ctx);
    const host = hostsOf(input.args[0]);
    const line = {
      runId: info.workflowExecution?.workflowId ?? 'none',
      ...(run ? { runbook: run.runbook, env: run.env } : {}),
      activity: info.activityType,
      ...(host ? { host } : {}),
      attempt: info.attempt,
    };
    const logger = Runtime.instance().logger;
    logger.info('activity started', line);
    const started = Date.now();
    try {
      const result = await next(input);
      logger.info('activity ended', { ...line, outcome: 'completed', durationMs: Date.now() - started });
      return result;
    } catch (err) {
      const cancelled = this.ctx.cancellationSignal.aborted;
      const retryable = !(err instanceof ApplicationFailure && err.nonRetryable);
      logger.warn('activity ended', {
        ...line,
        outcome: cancelled ? 'cancelled' : 'failed',
        ...(cancelled ? {} : { retryable }),
        durationMs: Date.now() - started,
        error: err,
      });
      throw err;
    }
  }
}

export const activityLogInterceptor = (ctx: Context) => ({ inbound: new ActivityLog(ctx) });
