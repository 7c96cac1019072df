// The production workflows plus small ones that drive the activity layer from tests.
import { ActivityCancellationType, workflowInfo } from '@temporalio/workflow';
import type { testActivities } from './activities';
import type { CommandInput } from '../activities/hosts';
import { forEachHost, runbook, stepActivities, undoActivities } from '../workflows/kernel';
import type { RunInput, RunResult } from '../common/shared';

export * from '../workflows';

const { runCommand } = stepActivities<typeof testActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 1 },
});

export async function commandOnHosts(input: { env: string; hosts: string[]; argv: string[]; limit: number }) {
  return forEachHost(input.hosts, input.limit, (host) => runCommand({ env: input.env, host, argv: input.argv }));
}

const { runCommand: runLongCommand } = stepActivities<typeof testActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '5 seconds',
  retry: { maximumAttempts: 1 },
  // The workflow waits until the activity has acted on its cancellation (killed the command).
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

export async function longCommand(input: CommandInput) {
  return runLongCommand(input);
}

// A three-step runbook on three test-bed hosts, for the kernel's failure matrix: each step
// records itself on its host, then fails if told to; each undo removes the record.
export type ThreeStepParams = {
  failAt?: string;
  failUndoAt?: string;
  stepSeconds?: number;
  /** The kernel's own retry and heartbeat options, as production steps have (the cluster's chaos test). */
  asProduction?: boolean;
  /** A point of no return after this step: a later failure undoes only what follows it. */
  settleAfter?: string;
};

export const THREE_STEPS: [step: string, host: string][] = [
  ['first', 'web-blue'],
  ['second', 'web-green'],
  ['third', 'db'],
];
export const KERNEL_TEST_DIR = '/var/tmp/kernel-test';

const DO = [
  'sleep "$1"',
  `mkdir -p ${KERNEL_TEST_DIR}`,
  `echo "do $2" >> ${KERNEL_TEST_DIR}/journal`,
  `touch "${KERNEL_TEST_DIR}/$2"`,
  '[ "$3" != fail ]',
].join('; ');
const UNDO = `echo "undo $1" >> ${KERNEL_TEST_DIR}/journal; [ "$2" != fail ] || exit 1; rm -f "${KERNEL_TEST_DIR}/$1"`;

// The kernel tests' own options: short heartbeats and few attempts, so their failures come fast.
const testOptions = {
  runStepCommand: stepActivities<typeof testActivities>({
    startToCloseTimeout: '1 minute',
    heartbeatTimeout: '3 seconds',
    retry: { maximumAttempts: 2, initialInterval: '200 milliseconds' },
  }).runStepCommand,
  undoStepCommand: stepActivities<typeof testActivities>({
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 2, initialInterval: '200 milliseconds' },
  }).undoStepCommand,
};
// The kernel's defaults, as production steps and undos have them.
const productionOptions = {
  runStepCommand: stepActivities<typeof testActivities>({ startToCloseTimeout: '1 minute' }).runStepCommand,
  undoStepCommand: undoActivities<typeof testActivities>({ startToCloseTimeout: '1 minute' }).undoStepCommand,
};

export async function threeSteps(input: RunInput<ThreeStepParams>): Promise<RunResult> {
  const runId = workflowInfo().workflowId;
  const { failAt, failUndoAt, stepSeconds = 0, settleAfter } = input.params;
  const { runStepCommand, undoStepCommand } = input.params.asProduction ? productionOptions : testOptions;
  return runbook(input, async ({ step, settle }) => {
    for (const [name, host] of THREE_STEPS) {
      const key = `${runId}.${name}`;
      const at = { env: input.env, host, runId, step: name };
      await step(name, {
        run: () =>
          runStepCommand({
            ...at,
            argv: ['sh', '-c', DO, 'step', String(stepSeconds), key, failAt === name ? 'fail' : 'ok'],
          }),
        undo: () =>
          undoStepCommand({ ...at, argv: ['sh', '-c', UNDO, 'undo', key, failUndoAt === name ? 'fail' : 'ok'] }),
        skippable: true,
        why: 'each step stands alone: the failure-gate tests skip one',
      });
      if (settleAfter === name)
        settle(`${name} is done for good`, (failed) => [`look at ${failed ?? 'the run'} on its host`]);
    }
  });
}
