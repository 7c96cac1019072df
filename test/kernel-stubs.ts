// Stand-ins for the test-only step commands of the kernel's three-step runbook (test/workflows.ts),
// for the workflow tier: no host is touched. A step or undo told to fail fails, as its command
// would on a host; and where the environment defines an `apiToken` secret, the first step's
// first attempt fails with that secret in its error, as a host's output might leak it (the log
// test checks the worker's log never shows it).
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { StepCommandInput } from '../activities/hosts';
import { resolveSecret } from '../activities/secrets';
import { loadEnvironment } from '../src/inventory';

const said = (input: StepCommandInput, kind: string) => input.argv.includes('fail') && kind;

export const kernelStubs = {
  runStepCommand: async (input: StepCommandInput) => {
    const env = loadEnvironment(input.env);
    if (input.step === 'first' && Context.current().info.attempt === 1 && env.secrets.apiToken) {
      const token = await resolveSecret(env, 'apiToken');
      throw ApplicationFailure.retryable(`curl: (22) 503 for https://api.local/?token=${token}`, 'CommandFailed');
    }
    if (said(input, 'step'))
      throw ApplicationFailure.create({
        type: 'CommandFailed',
        message: `${input.step} failed on ${input.host}: exit 1`,
        nonRetryable: true,
        details: [{ host: input.host, stderrTail: 'told to fail' }],
      });
    return { stdout: '', stderr: '', exitCode: 0, ran: true };
  },
  undoStepCommand: async (input: StepCommandInput) => {
    if (said(input, 'undo'))
      throw ApplicationFailure.nonRetryable(`undo of ${input.step} failed on ${input.host}: exit 1`, 'CommandFailed');
    return { stdout: '', stderr: '', exitCode: 0 };
  },
};
