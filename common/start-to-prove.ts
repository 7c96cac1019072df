// What a run's start check is given, from its input and where it runs: built the same way by the
// run's own first step (workflows/kernel/identity.ts) and by the activity boundary, which checks
// the start again (worker/activity-boundary.ts). Imported by workflow code: no I/O.
import type { StartToProve } from '../activities/identity/start';
import type { RunInput } from './shared';

export interface RunExecution {
  namespace: string;
  workflowId: string;
  runId: string;
  parent?: { workflowId: string; runId: string };
}

export function startToProve(input: RunInput, run: RunExecution): StartToProve {
  return {
    namespace: run.namespace,
    runId: run.workflowId,
    executionId: run.runId,
    runbook: input.runbook,
    env: input.env,
    params: input.params,
    initiator: input.initiator,
    proof: input.proof,
    ...(input.schedule !== undefined ? { schedule: input.schedule } : {}),
    ...(input.cosign !== undefined ? { cosign: input.cosign } : {}),
    ...(run.parent ? { parent: { workflowId: run.parent.workflowId, runId: run.parent.runId } } : {}),
  };
}
