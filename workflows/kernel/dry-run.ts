// A run's procedure walked in plan mode (./plan.ts): the same admission as a run (the worker's
// rules, the start proven), then every step, gate and point of no return recorded. It takes no
// lock, waits at no gate, sends no notice and counts as no run.
import { ApplicationFailure, isCancellation, workflowInfo } from '@temporalio/workflow';
import type * as activities from '../../activities';
import type { DryRunResult } from '../../common/plan';
import type { RunInput } from '../../common/shared';
import { FailureType } from '../../common/failure-types';
import { stepActivities } from './activities';
import { MAX_INPUT_CHARS } from './bounds';
import { proveInitiator } from './identity';
import { Planner } from './plan';
import { newProgress } from './progress';
import { innermost, type Runbook } from './runbook';
import { describe } from './saga';

const { decideRunRules } = stepActivities<typeof activities>({ startToCloseTimeout: '1 minute' });

export async function dryRunOf(input: RunInput, procedure: (rb: Runbook) => Promise<void>): Promise<DryRunResult> {
  const size = JSON.stringify(input ?? null).length;
  if (size > MAX_INPUT_CHARS)
    throw refusal(FailureType.BadInput, `the run's input is ${size} characters of JSON; at most ${MAX_INPUT_CHARS}`);
  let rules;
  try {
    rules = await decideRunRules({ workflowType: workflowInfo().workflowType, input });
  } catch (err) {
    if (isCancellation(err)) throw err;
    throw refusal(FailureType.BadInput, innermost(err));
  }
  const proven = await proveInitiator(input, newProgress(input));
  if ('refused' in proven) throw refusal(FailureType.StartRefused, proven.refused);

  const planner = new Planner(input.env);
  const { approval, gates = [] } = rules.policy.applied;
  const rb: Runbook = {
    step: ((name: string, action: Parameters<Planner['step']>[1]) => planner.step(name, action)) as Runbook['step'],
    approval: async (gate) => planner.gate(gate, approval.approvers, approval.required),
    gate: async (name) => {
      if (gates.includes(name)) planner.gate(name, approval.approvers, approval.required);
    },
    settle: (why) => planner.settle(why),
    hosts: () => undefined,
  };
  try {
    await procedure(rb);
  } catch (err) {
    if (isCancellation(err)) throw err;
    const last = planner.items.at(-1);
    const where = last && 'step' in last ? ` at ${last.step}` : '';
    throw ApplicationFailure.create({
      type: FailureType.DryRunStopped,
      message: `the dry run stopped${where}: ${describe(err)}`,
      nonRetryable: true,
      details: [{ plan: planner.items }],
    });
  }
  return {
    runbook: rules.runbook,
    env: input.env,
    plan: planner.items,
    ...(rules.refusedNow ? { refusedNow: rules.refusedNow } : {}),
  };
}

function refusal(type: string, reason: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message: `refused: ${reason}`, nonRetryable: true });
}
