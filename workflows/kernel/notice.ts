// Telling people what a run needs or became. A run hands each notice to a workflow of its own,
// a child it abandons (`notice`), and goes on as soon as that child has started: delivery never
// holds the run nor fails it, and goes on after the run has ended (a run's last notice is the
// one saying how it ended). The child's id is the notice's: started twice, it is refused, so a
// notice is delivered once per event. Each target is tried with its own retries for about an
// hour; the worker throttles each target (activities/notify.ts).
import {
  CancellationScope,
  log,
  ParentClosePolicy,
  startChild,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import type * as activities from '../../activities';
import type { Notice, NoticeDelivery } from '../../common/notice';
import { stepActivities } from './activities';
import { describe } from './saga';

const { noticeTargets } = stepActivities<typeof activities>({ startToCloseTimeout: '30 seconds' });
const { deliverNotice } = stepActivities<typeof activities>({
  startToCloseTimeout: '30 seconds',
  // About an hour of tries: 5 s, 10 s, ... up to 10 min apart.
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 12 },
});

export interface NoticeInput {
  env: string;
  notice: Notice;
}

/** Delivers one notice to every target of its environment that takes its event. Never fails. */
export async function notice(input: NoticeInput): Promise<NoticeDelivery[]> {
  const { env, notice: n } = input;
  const targets = await noticeTargets({ env, event: n.event });
  return Promise.all(
    targets.map(async ({ target, format }): Promise<NoticeDelivery> => {
      try {
        await deliverNotice({ env, target, notice: n });
        return { target, format, outcome: 'sent' };
      } catch (err) {
        log.warn('notice not delivered', { env, target, format, event: n.event, error: describe(err) });
        return { target, format, outcome: 'failed', error: describe(err) };
      }
    }),
  );
}

/** A notice as the run writes it: the rest (its id, the run's id, the time) is filled in here. */
export type NoticeOf = Omit<Notice, 'id' | 'runId' | 'at'>;

let sent = 0;

/**
 * Starts the notice's own workflow and returns once it has started (or could not be: that is
 * logged, never thrown). Not cancellable: a cancelled run still tells how it ended.
 */
export async function sendNotice(n: NoticeOf): Promise<void> {
  const runId = workflowInfo().workflowId;
  const id = `${runId}:notice:${++sent}:${n.event}`;
  const full: Notice = { ...n, id, runId, at: new Date().toISOString() };
  try {
    await CancellationScope.nonCancellable(() =>
      startChild(notice, {
        workflowId: id,
        args: [{ env: n.env, notice: full }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        workflowExecutionTimeout: '1 day',
      }),
    );
  } catch (err) {
    log.warn('notice not started', { runbook: n.runbook, env: n.env, event: n.event, error: describe(err) });
  }
}
