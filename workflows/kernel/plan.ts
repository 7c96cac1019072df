// Plan mode: the run's own procedure walked by a dry run (workflows/dry-run.ts). Steps that only
// read run for real, so the plan shows what would happen here and now; steps that act are
// recorded with their plan text and hand on their declared stand-in. Plan mode comes from the
// workflow type the server recorded, never from the input, and the worker refuses every acting
// activity a dry run schedules (worker/activity-boundary.ts), whatever its code asks.
import { workflowInfo } from '@temporalio/workflow';
import type * as activities from '../../activities';
import type { PlanContext, PlanItem, PlannedStep, StepPlan, StepPlanOf } from '../../common/plan';
import { DRY_RUN_WORKFLOW } from '../../common/plan-mode';
import { stepActivities } from './activities';
import type { SkippableStep, StepAction } from './saga';

const { planContext } = stepActivities<typeof activities>({ startToCloseTimeout: '1 minute' });

/** Whether this execution is a dry run: decided by its workflow type. */
export function planMode(): boolean {
  return workflowInfo().workflowType === DRY_RUN_WORKFLOW;
}

/** A step as plan mode reads it: its text, whether it only reads, whether it may be skipped and why. */
type PlannedAction = StepAction<unknown> | SkippableStep;

export class Planner {
  readonly items: PlanItem[] = [];
  private context?: Promise<PlanContext>;

  constructor(private readonly env: string) {}

  async step(name: string, action: PlannedAction): Promise<unknown> {
    const plan = await this.textOf(action.plan);
    const item: PlannedStep = {
      step: name,
      where: plan.where,
      does: plan.does,
      ...(plan.undo ? { undo: plan.undo } : action.undo ? { undo: 'undo registered (no text)' } : {}),
      ...(action.skippable ? { skippable: action.why } : {}),
      ...(action.reads ? { ran: true } : {}),
    };
    this.items.push(item);
    if (!action.reads) return plan.standIn;
    const result = await action.run();
    if (plan.found) item.does = `${plan.does}: ${plan.found(result)}`;
    return result;
  }

  gate(gate: string, approvers: string[], required: number): void {
    this.items.push({ gate, approvers, required });
  }

  settle(why: string): void {
    this.items.push({ settles: why });
  }

  private async textOf(plan: StepPlanOf<unknown> | undefined): Promise<StepPlan> {
    if (!plan) return { where: '?', does: '(its definition has no plan text)' };
    if (typeof plan !== 'function') return plan;
    this.context ??= planContext({ env: this.env });
    return plan(await this.context);
  }
}
