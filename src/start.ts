// Turning what an operator asked for into a run: validated in full before anything starts.
import { WithStartWorkflowOperation, type Client, type WorkflowHandle } from '@temporalio/client';
import { UsageError } from './errors';
import { InventoryError, loadEnvironment, type Environment } from './inventory';
import { checkParams, decideFreeze, decidePolicy, INITIATOR, PolicyError } from './policy';
import { newRunId } from './run-id';
import { findRunbook, RUNBOOKS, type RunbookSpec } from './runbooks';
import {
  admissionUpdate,
  FAILURE_POLICIES,
  maskSecrets,
  RUN_WORKFLOW_TASK_TIMEOUT,
  RunbookEnvKey,
  RunbookNameKey,
  type Admission,
  type FailurePolicy,
  type PolicyRequest,
  type RunInput,
  type RunPolicy,
} from '../common/shared';
import { markdownText } from '../common/inert';

export interface StartRequest {
  runbook: string;
  env: string;
  params: Record<string, string | number | boolean | string[] | undefined>;
  initiator: string;
  /** Shorter than the environment's; a longer one is refused. */
  approvalTimeoutMs?: number;
  /** More approvals than the environment requires. */
  approvalsRequired?: number;
  /** `compensate` or `ask`; default: the environment's `onFailure` (`compensate` where it asks is refused). */
  onFailure?: string;
  /** How long a failure gate waits before rolling back; default and most: the approval timeout. */
  failureTimeoutMs?: number;
  /** In a freeze window, wait for it to open. */
  waitForWindow?: boolean;
  /** In a freeze window, break glass for this reason (two signed approvals). */
  breakGlass?: string;
}

export interface PreparedRun {
  runId: string;
  spec: RunbookSpec;
  environment: Environment;
  input: RunInput;
  /** The rules the worker will apply, decided here the same way it will decide them. */
  policy: RunPolicy;
}

export { INITIATOR };

export function prepareRun(req: StartRequest): PreparedRun {
  const spec = findRunbook(req.runbook);
  if (!spec)
    throw new UsageError(
      `unknown runbook ${JSON.stringify(req.runbook)} (known: ${RUNBOOKS.map((r) => r.name).join(', ')})`,
    );
  if (!INITIATOR.test(req.initiator)) throw new UsageError(`invalid initiator name ${JSON.stringify(req.initiator)}`);
  let environment: Environment;
  try {
    environment = loadEnvironment(req.env);
  } catch (err) {
    if (err instanceof InventoryError) throw new UsageError(err.message);
    throw err;
  }
  const given = Object.fromEntries(Object.entries(req.params).filter(([, v]) => v !== undefined));
  const asked: PolicyRequest = {};
  if (req.approvalTimeoutMs !== undefined) asked.approvalTimeoutMs = req.approvalTimeoutMs;
  if (req.approvalsRequired !== undefined) asked.approvalsRequired = req.approvalsRequired;
  if (req.onFailure !== undefined) {
    if (!(FAILURE_POLICIES as readonly string[]).includes(req.onFailure)) {
      throw new UsageError(
        `--on-failure ${JSON.stringify(req.onFailure)} is not valid: ${FAILURE_POLICIES.join(' or ')}`,
      );
    }
    asked.onFailure = req.onFailure as FailurePolicy;
  }
  if (req.failureTimeoutMs !== undefined) asked.failureTimeoutMs = req.failureTimeoutMs;
  if (req.waitForWindow) asked.waitForWindow = true;
  if (req.breakGlass !== undefined) asked.breakGlass = req.breakGlass;
  let params: Record<string, unknown>;
  let policy: RunPolicy;
  try {
    params = checkParams(spec, environment, given);
    policy = decidePolicy(spec, environment, asked, params);
  } catch (err) {
    if (err instanceof PolicyError) throw new UsageError(err.message);
    throw err;
  }
  // The worker would overrule these and go on stricter; a person typing them is told at once.
  if (policy.overruled.length)
    throw new UsageError(`a request may only tighten the rules: ${policy.overruled.join('; ')}`);
  const input: RunInput = { runbook: spec.name, env: environment.environment, params, initiator: req.initiator, asked };
  return {
    runId: newRunId(spec.name, environment.environment),
    spec,
    environment,
    input,
    policy,
  };
}

export interface Started {
  handle: WorkflowHandle;
  admission: Admission;
}

/**
 * Starts the run. A mutating run is started together with its admission update, so the
 * caller learns at once whether it holds the environment or which run does.
 */
export async function startRun(client: Client, run: PreparedRun, taskQueue: string): Promise<Started> {
  const options = {
    taskQueue,
    workflowId: run.runId,
    args: [run.input],
    typedSearchAttributes: [
      { key: RunbookNameKey, value: run.spec.name },
      { key: RunbookEnvKey, value: run.input.env },
    ],
    staticSummary: markdownText(`${run.spec.name} on ${run.input.env}, started by ${run.input.initiator}`),
    staticDetails: describeParams(run.input.params),
    workflowTaskTimeout: RUN_WORKFLOW_TASK_TIMEOUT,
  };
  if (!run.policy.applied.mutating)
    return { handle: await client.workflow.start(run.spec.workflow, options), admission: { admitted: true } };
  const start = new WithStartWorkflowOperation(run.spec.workflow, { ...options, workflowIdConflictPolicy: 'FAIL' });
  const admission = await client.workflow.executeUpdateWithStart(admissionUpdate, { startWorkflowOperation: start });
  return { handle: await start.workflowHandle(), admission };
}

function describeParams(params: Record<string, unknown>): string {
  const entries = Object.entries(maskSecrets(params));
  // The Web UI shows it as Markdown: a parameter's value is text, never markup.
  return entries.length ? entries.map(([k, v]) => markdownText(`${k}: ${String(v)}`)).join('\n') : 'no parameters';
}

/**
 * Why a freeze window would refuse `run` if it started now (src/policy.ts decideFreeze), for the
 * CLI to say at once; the worker decides again when the run starts, on its own clock and
 * inventory. Not part of prepareRun: creating or co-signing a schedule in a freeze starts nothing.
 */
export function freezeRefusal(run: PreparedRun, nowMs = Date.now()): string | undefined {
  try {
    decideFreeze(run.spec, run.environment, run.input.asked ?? {}, run.input.initiator, nowMs);
    return undefined;
  } catch (err) {
    if (err instanceof PolicyError) return err.message;
    throw err;
  }
}
