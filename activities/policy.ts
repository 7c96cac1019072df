// A run's first step, on the worker: the rules it follows, decided from the inventory and the
// runbook's definition as they are now, never from what the client put in the input. The
// input's parameters are checked again here; a request may only tighten the rules.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { plaintextRefusal } from '../src/config';
import { InventoryError, loadEnvironment } from '../src/inventory';
import {
  askedOf,
  checkParams,
  decideAlarms,
  decideFreeze,
  decidePolicy,
  FrozenError,
  INITIATOR,
  nextFreeze,
  PolicyError,
} from '../src/policy';
import { RUNBOOKS, type RunbookSpec } from '../src/runbooks';
import type { AlarmWatch, FreezeHold, RunInput, RunPolicy } from '../common/shared';
import { FailureType } from '../common/failure-types';
import { DRY_RUN_ID_PREFIX, DRY_RUN_WORKFLOW } from '../common/plan-mode';

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
  /** Alarms that stop the run while they fire, read every `intervalMs` (src/alarms.ts); absent: none. */
  alarms?: AlarmWatch;
  /** A dry run's only: why a run would be refused now (a freeze window). */
  refusedNow?: string;
}

// Runbooks the worker knows beyond the registry: the tests' own workflows (test/test-runbooks.ts).
const extra: RunbookSpec[] = [];

/** Makes a workflow type that is not in the registry a runbook the worker decides for (tests). */
export function registerExtraRunbook(spec: RunbookSpec): void {
  if (!extra.some((r) => r.workflow === spec.workflow)) extra.push(spec);
}

/** Whether `workflowType` is a runbook this worker decides rules for (a run, not a part of one). */
export function isRunbookWorkflow(workflowType: string): boolean {
  return workflowType === DRY_RUN_WORKFLOW || [...RUNBOOKS, ...extra].some((r) => r.workflow === workflowType);
}

/**
 * The rules of a run of workflow `workflowType` started with `input`. The workflow type, which
 * the client cannot disguise, says which runbook this is. Refused (non-retryable, `BadInput`)
 * when the input names another runbook or an unknown environment, or asks what cannot be, and
 * on a protected environment when this worker reaches Temporal without TLS (plaintextRefusal).
 */
export async function decideRunRules(request: { workflowType: string; input: RunInput }): Promise<RunRules> {
  const { workflowType, input } = request;
  const dryRun = workflowType === DRY_RUN_WORKFLOW;
  try {
    if (typeof input !== 'object' || input === null) throw new PolicyError('the run input must be an object');
    // As the activity boundary does (dryRunIdRefusal): the server's word for the type and the id.
    const wrongId = dryRunIdRefusal(workflowType, callerId());
    if (wrongId) throw new PolicyError(wrongId);
    const spec = [...RUNBOOKS, ...extra].find((r) => (dryRun ? r.name === input.runbook : r.workflow === workflowType));
    if (!spec)
      throw new PolicyError(
        dryRun
          ? `no runbook ${JSON.stringify(String(input.runbook).slice(0, 100))} to plan`
          : `workflow ${workflowType} is not a runbook this worker knows`,
      );
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
    if (dryRun) {
      // A dry run is never held: it says whether a run would be, and goes on planning.
      const refusedNow = frozenNow(() => decideFreeze(spec, env, asked, input.initiator, now));
      return { runbook: spec.name, params, policy, ...(refusedNow ? { refusedNow } : {}) };
    }
    const freeze = decideFreeze(spec, env, asked, input.initiator, now);
    const next = nextFreeze(spec, env, now, freeze);
    // From the inventory and the runbook alone: nothing in the input turns an alarm off.
    const alarms = decideAlarms(spec, env, asked, input.initiator);
    return {
      runbook: spec.name,
      params,
      policy,
      ...(freeze ? { freeze } : {}),
      ...(next ? { nextFreeze: next } : {}),
      ...(alarms ? { alarms } : {}),
    };
  } catch (err) {
    if (err instanceof FrozenError) throw ApplicationFailure.nonRetryable(err.message, FailureType.Frozen);
    if (err instanceof PolicyError || err instanceof InventoryError)
      throw ApplicationFailure.nonRetryable(err.message, FailureType.BadInput);
    throw err;
  }
}

/** Why a freeze window would refuse or hold a run started now, if one would. */
function frozenNow(decide: () => FreezeHold | undefined): string | undefined {
  try {
    const held = decide();
    return held
      ? `freeze window ${held.window}: ${held.then === 'wait' ? 'waits for it to open' : 'break-glass'}`
      : undefined;
  } catch (err) {
    if (err instanceof FrozenError) return err.message;
    throw err;
  }
}

/**
 * A dry run's id starts with DRY_RUN_ID_PREFIX and a run's never does: a start signed for a dry
 * run proves a dry run only, and cannot be replayed as a run of the same id.
 */
export function dryRunIdRefusal(workflowType: string, workflowId: string): string | undefined {
  const prefixed = workflowId.startsWith(DRY_RUN_ID_PREFIX);
  if (workflowType === DRY_RUN_WORKFLOW && !prefixed) return `a dry run's workflow id starts with ${DRY_RUN_ID_PREFIX}`;
  if (workflowType !== DRY_RUN_WORKFLOW && prefixed)
    return `workflow ids starting with ${DRY_RUN_ID_PREFIX} are dry runs only`;
  return undefined;
}

/** The id of the execution that scheduled this activity; empty where it runs outside one (fast tests). */
function callerId(): string {
  try {
    return Context.current().info.workflowExecution?.workflowId ?? '';
  } catch {
    return '';
  }
}
