// `runbook start … --dry-run`: the worker walks the runbook's own procedure in plan mode
// (workflows/dry-run.ts) and answers its plan; this prints it. Nothing here decides a step.
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ConnectionError } from '../src/errors';
import { taskQueue } from '../src/config';
import type { PreparedRun } from '../src/start';
import { signStart, type Signer } from '../src/identity/sign';
import { DRY_RUN_ID_PREFIX, DRY_RUN_WORKFLOW } from '../common/plan-mode';
import { isGate, isStep, type DryRunResult, type PlanItem } from '../common/plan';
import { RUN_WORKFLOW_TASK_TIMEOUT } from '../common/shared';
import { inertText } from '../common/inert';

/** How long a dry run may take: its reads are a few SSH commands. */
const DRY_RUN_TIMEOUT_MS = 60_000;

/** The plan the worker makes of `run`, or throws what refused or stopped it. */
export async function planOnWorker(
  client: Client,
  run: PreparedRun,
  { signer, queue = taskQueue() }: { signer?: Signer; queue?: string } = {},
): Promise<DryRunResult> {
  const workflowId = `${DRY_RUN_ID_PREFIX}${run.runId}`;
  const input = { ...run.input };
  // Signed for this dry run's id: the worker takes it for a dry run only (activities/policy.ts).
  if (signer) input.proof = await signStart(input, workflowId, client.options.namespace, signer);
  try {
    return await client.withDeadline(Date.now() + DRY_RUN_TIMEOUT_MS, () =>
      client.workflow.execute(DRY_RUN_WORKFLOW, {
        taskQueue: queue,
        workflowId,
        args: [input],
        workflowTaskTimeout: RUN_WORKFLOW_TASK_TIMEOUT,
        workflowExecutionTimeout: `${DRY_RUN_TIMEOUT_MS / 1000} seconds`,
      }),
    );
  } catch (err) {
    if (err instanceof WorkflowFailedError) throw new DryRunFailed(innermost(err));
    if (isDeadline(err))
      throw new ConnectionError(
        `no worker answered the dry run within ${DRY_RUN_TIMEOUT_MS / 1000}s: ` +
          `is a worker polling task queue ${queue}? (npm run worker)`,
      );
    throw err;
  }
}

/** The worker refused the dry run, or a step it ran (one that only reads) failed. */
export class DryRunFailed extends Error {}

/** One line per item of the plan, as `start --dry-run` prints it. */
export function planLines(plan: PlanItem[]): string[] {
  return plan.map((item) => {
    if (isGate(item)) {
      const from = item.approvers.join(', ') || '(no approvers listed)';
      return `  gate ${item.gate}: ${item.required} approval(s) from ${from}`;
    }
    if (isStep(item)) {
      const undo = item.undo ? `; undo: ${item.undo}` : '';
      const skip = item.skippable ? `; skippable: ${item.skippable}` : '';
      const read = item.ran ? ' (read now)' : '';
      return inertText(`  ${item.step} on ${item.where}: ${item.does}${undo}${skip}${read}`);
    }
    return inertText(`  point of no return: ${item.settles}`);
  });
}

function innermost(err: unknown): string {
  let e: unknown = err;
  while ((e as { cause?: unknown }).cause) e = (e as { cause?: unknown }).cause;
  return e instanceof ApplicationFailure || e instanceof Error ? e.message : String(e);
}

/** Whether a call to Temporal ended at its deadline (gRPC DEADLINE_EXCEEDED). */
export function isDeadline(err: unknown): boolean {
  const e = err as { code?: number; cause?: { code?: number } };
  return e?.code === 4 || e?.cause?.code === 4 || /deadline/i.test(String((err as Error)?.message));
}
