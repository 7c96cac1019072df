// deploy (blue/green): the release goes to the idle colour, is started and health-checked
// there, optionally approved, and only then takes traffic; the old colour keeps running for
// a rollback window. Any failure up to the end of that window puts traffic back on the old
// colour and stops the new one.
import { sleep } from '@temporalio/workflow';
import type * as activities from '../activities';
import { parseDuration } from '../src/duration';
import type { RunInput, RunResult } from '../src/shared';
import { runbook, stepActivities, undoActivities } from './kernel';

const { colours, resolveRef, installRelease, restartApp, switchUpstream, checkThroughLb, stopApp } = stepActivities<typeof activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
});
// A starting app may take a few seconds to answer: asked again for about 15 s, then failed.
const { checkHealth } = stepActivities<typeof activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 1.5, maximumInterval: '3 seconds', maximumAttempts: 8 },
});
const undo = undoActivities<typeof activities>({ startToCloseTimeout: '5 minutes' });

export type DeployParams = { ref: string; gate?: boolean; 'rollback-window'?: string };

export async function deploy(input: RunInput<DeployParams>): Promise<RunResult> {
  const { env } = input;
  const window = parseDuration(input.params['rollback-window'] ?? '10m', 'rollback-window');
  return runbook(input, async ({ step, approval }) => {
    const { live, idle } = await step('find the idle colour', { run: () => colours({ env }) });
    const commit = await step('resolve the ref', { run: () => resolveRef({ env, host: idle, ref: input.params.ref }) });

    await step(`install on ${idle}`, {
      run: () => installRelease({ env, host: idle, commit }),
      undo: () => undo.stopApp({ env, host: idle }),
    });
    await step(`start ${idle}`, {
      run: () => restartApp({ env, host: idle }),
      undo: () => undo.stopApp({ env, host: idle }),
    });
    await step(`health-check ${idle}`, { run: () => checkHealth({ env, host: idle, commit }) });

    if (input.params.gate) await approval('switch traffic');

    await step(`switch traffic to ${idle}`, {
      run: () => switchUpstream({ env, host: idle }),
      undo: () => undo.switchUpstream({ env, host: live }),
    });
    await step('check through the load balancer', { run: () => checkThroughLb({ env, commit }) });
    await step(`rollback window (${input.params['rollback-window'] ?? '10m'})`, { run: () => sleep(window) });
    await step(`stop ${live}`, { run: () => stopApp({ env, host: live }) });
  });
}
