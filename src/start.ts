// Turning what an operator asked for into a run: validated in full before anything starts.
import { WithStartWorkflowOperation, type Client, type WorkflowHandle } from '@temporalio/client';
import { UsageError } from './errors';
import { approvalPolicy, InventoryError, loadEnvironment, type Environment } from './inventory';
import { newRunId } from './run-id';
import { findRunbook, RUNBOOKS, type PlanItem, type RunbookSpec } from './runbooks';
import {
  admissionUpdate,
  FAILURE_POLICIES,
  maskSecrets,
  RunbookEnvKey,
  RunbookNameKey,
  type Admission,
  type FailurePolicy,
  type OnFailure,
  type RunInput,
} from '../common/shared';

export interface StartRequest {
  runbook: string;
  env: string;
  params: Record<string, string | boolean | string[] | undefined>;
  initiator: string;
  approvalTimeoutMs?: number;
  /** `compensate` or `ask`; default: the environment's `onFailure`. */
  onFailure?: string;
  /** How long a failure gate waits before rolling back; default: the approval timeout. */
  failureTimeoutMs?: number;
}

export interface PreparedRun {
  runId: string;
  spec: RunbookSpec;
  environment: Environment;
  input: RunInput;
  plan: PlanItem[];
}

export const INITIATOR = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/;

export function prepareRun(req: StartRequest): PreparedRun {
  const spec = findRunbook(req.runbook);
  if (!spec) throw new UsageError(`unknown runbook ${JSON.stringify(req.runbook)} (known: ${RUNBOOKS.map((r) => r.name).join(', ')})`);
  if (!INITIATOR.test(req.initiator)) throw new UsageError(`invalid initiator name ${JSON.stringify(req.initiator)}`);
  let environment: Environment;
  try {
    environment = loadEnvironment(req.env);
  } catch (err) {
    if (err instanceof InventoryError) throw new UsageError(err.message);
    throw err;
  }
  const params: Record<string, unknown> = {};
  for (const p of spec.params) {
    const value = req.params[p.name];
    if (value === undefined) {
      if (p.required) throw new UsageError(`${spec.name} needs --${p.name} (${p.description})`);
      continue;
    }
    if (p.argv) {
      if (!Array.isArray(value) || !value.length || value.some((v) => typeof v !== 'string')) throw new UsageError(`${spec.name} needs the command after --, as separate words`);
    } else if (Array.isArray(value)) {
      throw new UsageError(`--${p.name} takes one value`);
    } else if (p.pattern && (typeof value !== 'string' || !p.pattern.test(value))) {
      throw new UsageError(`--${p.name} ${JSON.stringify(value)} is not valid: ${p.description}`);
    }
    params[p.name] = value;
  }
  const wrong = spec.check?.(environment, params);
  if (wrong) throw new UsageError(wrong);
  const approval = approvalPolicy(environment, req.approvalTimeoutMs);
  const input: RunInput = {
    runbook: spec.name,
    env: environment.environment,
    params,
    initiator: req.initiator,
    approval,
    mutating: spec.mutating,
    onFailure: onFailure(environment, req, approval.timeoutMs),
  };
  return { runId: newRunId(spec.name, environment.environment), spec, environment, input, plan: spec.plan(environment, params) };
}

function onFailure(environment: Environment, req: StartRequest, approvalTimeoutMs: number): OnFailure {
  const policy = req.onFailure ?? environment.onFailure;
  if (!(FAILURE_POLICIES as readonly string[]).includes(policy)) {
    throw new UsageError(`--on-failure ${JSON.stringify(policy)} is not valid: ${FAILURE_POLICIES.join(' or ')}`);
  }
  const timeoutMs = req.failureTimeoutMs ?? approvalTimeoutMs;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new UsageError('--failure-timeout must be a positive duration');
  return { policy: policy as FailurePolicy, timeoutMs };
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
    staticSummary: `${run.spec.name} on ${run.input.env}, started by ${run.input.initiator}`,
    staticDetails: describeParams(run.input.params),
  };
  if (!run.input.mutating) return { handle: await client.workflow.start(run.spec.workflow, options), admission: { admitted: true } };
  const start = new WithStartWorkflowOperation(run.spec.workflow, { ...options, workflowIdConflictPolicy: 'FAIL' });
  const admission = await client.workflow.executeUpdateWithStart(admissionUpdate, { startWorkflowOperation: start });
  return { handle: await start.workflowHandle(), admission };
}

function describeParams(params: Record<string, unknown>): string {
  const entries = Object.entries(maskSecrets(params));
  return entries.length ? entries.map(([k, v]) => `${k}: ${String(v)}`).join('\n') : 'no parameters';
}
