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
import type { WorkflowHandle } from '@temporalio/client';
import { newRunId } from '../src/run-id';
import type { RunInput } from '../common/shared';
import { testClient } from './helpers';
import { trackRun } from './leftover-runs';
import type { ThreeStepParams } from './workflows';

const said = (input: StepCommandInput, kind: string) => input.argv.includes('fail') && kind;

let stalled = 0;

export const kernelStubs = {
  // smoke's steps: the one RUNBOOK_TEST_FAIL_STEP names fails, so its run waits at a failure gate.
  writeMarker: async (input: { step: string }) => {
    if (input.step === process.env.RUNBOOK_TEST_FAIL_STEP)
      throw ApplicationFailure.nonRetryable(`${input.step}: told to fail`, 'CommandFailed');
    return { changed: true };
  },
  runStepCommand: async (input: StepCommandInput) => {
    // RUNBOOK_TEST_LOSE_STEP: that step's first two attempts stall the whole worker (its event loop
    // busy) past their heartbeat timeout, as a worker that froze or died would; the third runs.
    if (input.step === process.env.RUNBOOK_TEST_LOSE_STEP && stalled < 2) {
      stalled++;
      const until = Date.now() + 4_500;
      while (Date.now() < until);
    }
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

/** Starts the kernel's three-step runbook (test/workflows.ts) on `webhooks`, for a worker with these stubs. */
export async function startThreeSteps(
  taskQueue: string,
  params: ThreeStepParams = {},
  more: Partial<RunInput> = {},
): Promise<WorkflowHandle> {
  const input: RunInput = { runbook: 'three-steps', env: 'webhooks', params, initiator: 'operator', ...more };
  const handle = await (
    await testClient()
  ).workflow.start('threeSteps', {
    taskQueue,
    workflowId: newRunId('three-steps', 'webhooks'),
    args: [input],
  });
  trackRun(handle, 'webhooks');
  return handle;
}
