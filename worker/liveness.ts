// Every activity heartbeats while its worker lives, whatever the activity does: a step whose
// worker was SIGKILLed is then retried by another worker as soon as its heartbeat timeout
// (LIVENESS_TIMEOUT in workflows/kernel/activities.ts, 10 s) passes, instead of its
// start-to-close timeout (minutes). Hung work is still caught by the start-to-close timeout.
import { Context } from '@temporalio/activity';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, Next } from '@temporalio/worker';

/** Well under the heartbeat timeout; the SDK throttles sends to 80% of that timeout anyway. */
export const LIVENESS_BEAT_MS = 2_000;

export class LivenessHeartbeat implements ActivityInboundCallsInterceptor {
  constructor(private readonly ctx: Context) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    // Only activities scheduled with a heartbeat timeout may heartbeat (the SDK's rule).
    if (!this.ctx.info.heartbeatTimeoutMs) return next(input);
    // The activity's own heartbeats carry details (a command's output tail): the liveness beat
    // repeats the last ones rather than blanking them.
    const ctx = this.ctx;
    const own = ctx.heartbeat.bind(ctx);
    let last: unknown;
    (ctx as { heartbeat: (details?: unknown) => void }).heartbeat = (details?: unknown) => {
      last = details;
      own(details);
    };
    own();
    const beat = setInterval(() => own(last), LIVENESS_BEAT_MS);
    try {
      return await next(input);
    } finally {
      clearInterval(beat);
    }
  }
}

export const livenessInterceptor = (ctx: Context) => ({ inbound: new LivenessHeartbeat(ctx) });
