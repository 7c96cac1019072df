// A dry run (the runbook's procedure in plan mode on the worker) beside a real run of the same
// runbook: what the tests compare them by.
import assert from 'node:assert/strict';
import { testClient } from './helpers';
import { prepareRun, type StartRequest } from '../src/start';
import { planOnWorker } from '../cli/dry-run';
import { isGate, isStep, type DryRunResult, type PlanItem } from '../common/plan';
import { ACTIVITY_KINDS } from '../activities/registry';
import { signStart } from '../src/identity/sign';
import type { RunResult } from '../common/shared';

/** One activity call: its type, input and result (from a history, or recorded by a stub). */
export interface ActivityCall {
  type: string;
  input: unknown;
  result?: unknown;
}

export const stepsOf = (plan: PlanItem[]): string[] => plan.filter(isStep).map((i) => i.step);
export const gatesOf = (plan: PlanItem[]): string[] => plan.filter(isGate).map((i) => i.gate);

/** A step's name without what differs from one run to the next: a backup's time, a database's tag. */
export const sameRunAgain = (name: string): string =>
  name.replace(/\d{8}T\d{6}Z/g, '<time>').replace(/runbook_previous_[0-9a-f]{12}/g, 'runbook_previous_<tag>');

/** The worker's plan of a run of `req` on `queue`, signed with `signWith` where given. */
export async function dryRunOn(
  queue: string,
  req: Partial<StartRequest> & { runbook: string; signWith?: string },
): Promise<DryRunResult> {
  const { signWith, ...rest } = req;
  const request = { env: 'test', params: {}, initiator: 'operator', ...rest };
  const signer = signWith ? { as: request.initiator, key: signWith } : undefined;
  return planOnWorker(await testClient(), prepareRun(request), { queue, ...(signer ? { signer } : {}) });
}

/** Holds the dry run to the run: the same steps in order, the same gates, and no step acted while planning. */
export function assertPlanIsRun(plan: DryRunResult, run: RunResult, calls: ActivityCall[]): void {
  assert.deepEqual(
    stepsOf(plan.plan).map(sameRunAgain),
    run.progress.steps.map((s) => sameRunAgain(s.name)),
  );
  assert.deepEqual(
    gatesOf(plan.plan),
    run.progress.gates.map((g) => g.name),
  );
  assert.deepEqual(
    plan.plan
      .filter(isStep)
      .filter((s) => s.does.includes('no plan text'))
      .map((s) => s.step),
    [],
    'every step has its plan text',
  );
  assert.deepEqual(
    calls.filter((c) => ACTIVITY_KINDS[c.type as keyof typeof ACTIVITY_KINDS] === 'acts').map((c) => c.type),
    [],
    'the dry run called nothing that acts',
  );
}

export { signStart };
