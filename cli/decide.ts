// `runbook retry|rollback|skip <run id>`: the decision at a run's failure gate, sent as an
// update so a refusal (not an approver, four eyes, a step that may not be skipped) reaches the
// operator at once, before anything is recorded.
import { WorkflowNotFoundError } from '@temporalio/client';
import { UsageError } from '../src/errors';
import { decideFailureUpdate, type FailureDecisionInput } from '../client';
import type { FailureDecision, OnFailure } from '../common/shared';
import { actor, parse, runIdArg } from './args';
import type { Command } from './commands';
import { printJson, refusedUpdate } from './output';
import { signDecision, signerFrom, SIGNING_OPTIONS } from './sign';
import { inertText } from '../common/inert';

const DONE: Record<FailureDecision, string> = {
  retry: 'will run again',
  rollback: 'is rolled back with the rest of the run',
  skip: 'is skipped; the run goes on',
};

function decideFailure(decision: FailureDecision): Command {
  return async (args, connect) => {
    const { values, positionals } = parse(args, {
      as: { type: 'string' },
      comment: { type: 'string' },
      ...SIGNING_OPTIONS,
    });
    const runId = runIdArg(positionals, decision);
    const input: FailureDecisionInput = {
      decision,
      by: actor(values.as),
      comment: values.comment as string | undefined,
    };
    if (decision === 'skip' && !input.comment) throw new UsageError('skip needs --comment saying why');
    const client = await connect();
    const handle = client.workflow.getHandle(runId);
    try {
      Object.assign(
        input,
        await signDecision(client, runId, decision, input.by, input.comment, signerFrom(values, input.by)),
      );
      const record = await client.withDeadline(Date.now() + 15_000, () =>
        handle.executeUpdate(decideFailureUpdate, { args: [input] }),
      );
      if (values.json) printJson({ runId, recorded: record });
      else console.log(inertText(`${decision} decided for ${runId} as ${record.by}: ${record.step} ${DONE[decision]}`));
      return 0;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new UsageError(`no run ${runId}`);
      return refusedUpdate(runId, err, values.json === true);
    }
  };
}

export const retry = decideFailure('retry');
export const rollback = decideFailure('rollback');
export const skip = decideFailure('skip');

/** The run's failure policy in words, for a dry run. */
export function describeOnFailure(onFailure: OnFailure | undefined): string {
  if (onFailure?.policy !== 'ask') return 'roll back (compensate)';
  return `wait up to ${Math.round(onFailure.timeoutMs / 1000)}s for retry, rollback or skip (ask), then roll back`;
}
