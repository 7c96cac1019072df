// A schedule's firing, on the worker: the run it starts is prepared and validated as
// `runbook start` would, against the runbook registry and the inventory as they are now.
import { ApplicationFailure } from '@temporalio/common';
import { UsageError } from '../src/errors';
import { scheduleInitiator, type ScheduledRequest } from '../src/schedules';
import { maskSecrets, type RunInput } from '../common/shared';
import { prepareRun } from '../src/start';
import { FailureType } from '../common/failure-types';
import { markdownText } from '../common/inert';

export interface ScheduledRunPlan {
  runId: string;
  workflow: string;
  input: RunInput;
  summary: string;
  details: string;
}

export async function prepareScheduledRun(request: ScheduledRequest): Promise<ScheduledRunPlan> {
  // The schedule's creator starts its runs, signed or not, so four eyes holds against them
  // (whoever schedules a gated runbook cannot approve its runs); a signed schedule proves who that is.
  const initiator = scheduleInitiator(request);
  let run;
  try {
    run = prepareRun({ runbook: request.runbook, env: request.env, params: request.params, initiator });
  } catch (err) {
    // A runbook or environment removed, or parameters no longer valid: no retry will fix it.
    if (err instanceof UsageError)
      throw ApplicationFailure.nonRetryable(`schedule ${request.scheduleId}: ${err.message}`, FailureType.BadInput);
    throw err;
  }
  if (request.proof) {
    const cosign = request.cosign ? { cosign: request.cosign } : {};
    Object.assign(run.input, { proof: request.proof, schedule: request.scheduleId, ...cosign });
  }
  // The Web UI shows summary and details as Markdown, and the schedule's creator wrote what they hold.
  const params = Object.entries(maskSecrets(run.input.params)).map(([k, v]) => markdownText(`${k}: ${String(v)}`));
  return {
    runId: run.runId,
    workflow: run.spec.workflow,
    input: run.input,
    summary: markdownText(
      `${run.spec.name} on ${run.input.env}, started by schedule ${request.scheduleId} ` +
        `(created by ${request.createdBy})`,
    ),
    details: params.length ? params.join('\n') : 'no parameters',
  };
}
