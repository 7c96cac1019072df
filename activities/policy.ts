// A run's first step, on the worker: the rules it follows, decided from the inventory and the
// runbook's definition as they are now, never from what the client put in the input. The
// input's parameters are checked again here; a request may only tighten the rules.
import { ApplicationFailure } from '@temporalio/common';
import { plaintextRefusal } from '../src/config';
import { InventoryError, loadEnvironment } from '../src/inventory';
import {
  askedOf,
  checkParams,
  decideFreeze,
  decidePolicy,
  FrozenError,
  INITIATOR,
  nextFreeze,
  PolicyError,
} from '../src/policy';
import { RUNBOOKS, type RunbookSpec } from '../src/runbooks';
import type { FreezeHold, RunInput, RunPolicy } from '../common/shared';
import { FailureType } from '../common/failure-types';

export interface RunRules {
  /** The runbook's name, as its definition says (the input's must match). */
  runbook: string;
  /** The parameters, checked. */
  params: Record<string, unknown>;
  policy: RunPolicy;
  /**
   * A freeze window that holds the run now, which it was asked to wait for or break glass at;
   * absent when none holds it. A run asked neither is refused here, before anything runs.
   */
  freeze?: FreezeHold;
  /** The next freeze window that would begin while the run goes on: it stops at a gate then. */
  nextFreeze?: { window: string; startsAt: string };
}

// Runbooks the worker knows beyond the registry: the tests' own workflows (test/test-runbooks.ts).
const extra: RunbookSpec[] = [];

/** Makes a workflow type that is not in the registry a runbook the worker decides for (tests). */
export function registerExtraRunbook(spec: RunbookSpec): void {
  if (!extra.some((r) => r.workflow === spec.workflow)) extra.push(spec);
}

/** Whether `workflowType` is a runbook this worker decides rules for (a run, not a part of one). */
export function isRunbookWorkflow(workflowType: string): boolean {
  return [...RUNBOOKS, ...extra].some((r) => r.workflow === workflowType);
}

/**
 * The rules of a run of workflow `workflowType` started with `input`. The workflow type, which
 * the client cannot disguise, says which runbook this is. Refused (non-retryable, `BadInput`)
 * when the input names another runbook or an unknown environment, or asks what cannot be, and
 * on a protected environment when this worker reaches Temporal without TLS (plaintextRefusal).
 */
export async function decideRunRules(request: { workflowType: string; input: RunInput }): Promise<RunRules> {
  const { workflowType, input } = request;
  try {
    const spec = [...RUNBOOKS, ...extra].find((r) => r.workflow === workflowType);
    if (!spec) throw new PolicyError(`workflow ${workflowType} is not a runbook this worker knows`);
    if (typeof input !== 'object' || input === null) throw new PolicyError('the run input must be an object');
    if (input.runbook !== spec.name)
      throw new PolicyError(
        `a ${workflowType} run is runbook ${spec.name}, not ${JSON.stringify(String(input.runbook).slice(0, 100))}`,
      );
    if (typeof input.initiator !== 'string' || !INITIATOR.test(input.initiator)) {
      throw new PolicyError(`invalid initiator name ${JSON.stringify(String(input.initiator).slice(0, 100))}`);
    }
    const env = loadEnvironment(String(input.env));
    // A protected environment is acted on only by a worker whose Temporal connection is TLS.
    const refusal = env.protected ? plaintextRefusal(env.environment) : undefined;
    if (refusal) throw new PolicyError(refusal);
    const params = checkParams(spec, env, input.params);
    const asked = askedOf(input);
    const policy = decidePolicy(spec, env, asked, params);
    // Here, at the one admission every start passes through (the CLI, a schedule, a raw start).
    const now = Date.now();
    const freeze = decideFreeze(spec, env, asked, input.initiator, now);
    const next = nextFreeze(spec, env, now, freeze);
    return { runbook: spec.name, params, policy, ...(freeze ? { freeze } : {}), ...(next ? { nextFreeze: next } : {}) };
  } catch (err) {
    if (err instanceof FrozenError) throw ApplicationFailure.nonRetryable(err.message, FailureType.Frozen);
    if (err instanceof PolicyError || err instanceof InventoryError)
      throw ApplicationFailure.nonRetryable(err.message, FailureType.BadInput);
    throw err;
  }
}
