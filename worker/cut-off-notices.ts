// A run terminated from outside (or past its execution timeout) runs no code of its own again,
// so it cannot say so: the worker that finds it in the cut-off gauge's listing tells its
// environment's targets (`run_cut_off`), naming the undos it never ran. Once per run across all
// workers: the first worker to start a claim execution with the notice's id sends it; Temporal
// refuses that id to every other worker, and to this one after a restart. The claim runs on a
// queue no worker polls and times out by itself a minute later.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { Runtime } from '@temporalio/worker';
import { deliverNotice, noticeTargets } from '../activities/notify';
import { progressQuery, type RunProgress } from '../common/shared';
import type { Notice } from '../common/notice';

/** At most this many runs are told about per listing: a backlog goes out over the next intervals. */
const MAX_PER_READING = 20;

export interface CutOffRun {
  workflowId: string;
  runbook: string;
  env: string;
  closedAt?: Date;
}

export class CutOffNotices {
  private readonly told = new Set<string>();

  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  /** Tells the targets of each run not yet told about; never throws. */
  async tell(runs: CutOffRun[]): Promise<void> {
    for (const run of runs.filter((r) => !this.told.has(r.workflowId)).slice(0, MAX_PER_READING)) {
      this.told.add(run.workflowId);
      await this.tellOne(run).catch((err: unknown) =>
        Runtime.instance().logger.warn('cut-off notice not sent', {
          runId: run.workflowId,
          runbook: run.runbook,
          env: run.env,
          error: err,
        }),
      );
    }
  }

  private async tellOne(run: CutOffRun): Promise<void> {
    const id = `${run.workflowId}:notice:cut-off`;
    if ((await noticeTargets({ env: run.env, event: 'run_cut_off' })).length === 0) return;
    try {
      await this.client.workflow.start('noticeClaim', {
        taskQueue: `${this.taskQueue}-notice-claims`,
        workflowId: id,
        workflowExecutionTimeout: '1 minute',
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        args: [],
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return;
      throw err;
    }
    // The run's record, as `runbook status` reads it (a closed run's query is answered by replaying it).
    const progress = (await this.client.workflow
      .getHandle(run.workflowId)
      .query(progressQuery)
      .catch(() => undefined)) as RunProgress | undefined;
    const notice: Notice = {
      id,
      event: 'run_cut_off',
      runId: run.workflowId,
      runbook: run.runbook,
      env: run.env,
      initiator: progress?.initiator ?? 'unknown',
      at: (run.closedAt ?? new Date()).toISOString(),
      ...(progress?.undosRegistered?.length ? { leftToUndo: [...progress.undosRegistered].reverse() } : {}),
      reason: 'terminated from outside (or past its execution timeout): its undos never ran',
    };
    for (const { target } of await noticeTargets({ env: run.env, event: 'run_cut_off' })) {
      await deliverNotice({ env: run.env, target, notice }).catch((err: unknown) =>
        Runtime.instance().logger.warn('notice not delivered', { runId: run.workflowId, target, error: err }),
      );
    }
  }
}
