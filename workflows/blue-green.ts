// The blue/green steps, shared by deploy and migrate-then-code: the release goes to the idle
// colour (checked out, expand migrations applied while the live colour keeps serving), is
// started and health-checked there, optionally approved, and only then takes traffic; the old
// colour keeps running for a rollback window, then stops.
import { sleep } from '@temporalio/workflow';
import type * as activities from '../activities';
import { parseDuration } from '../common/duration';
import type { Runbook } from './kernel';
import { stepActivities, undoActivities } from './kernel';
import { RELEASE_STEPS } from '../common/step-names';

const { colours, resolveRef, installRelease, restartApp, switchUpstream, checkThroughLb, stopApp } = stepActivities<typeof activities>({
  startToCloseTimeout: '10 minutes',
});
// A starting app may take a few seconds to answer: asked again for about 15 s, then failed.
const { checkHealth } = stepActivities<typeof activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 1.5, maximumInterval: '3 seconds', maximumAttempts: 8 },
});
const undo = undoActivities<typeof activities>({ startToCloseTimeout: '5 minutes' });

/** What deploy and migrate-then-code are told. */
export type ReleaseParams = { ref: string; gate?: boolean; 'rollback-window'?: string };

export interface SwitchOptions {
  gate?: boolean;
  window: string;
  windowMs: number;
}

export function switchOptions(params: ReleaseParams): SwitchOptions {
  const window = params['rollback-window'] ?? '10m';
  return { gate: params.gate, window, windowMs: parseDuration(window, 'rollback-window') };
}

export interface Release {
  live: string;
  idle: string;
  commit: string;
}

/** Finds the colours and the commit the ref names; changes nothing. */
export async function planRelease({ step }: Runbook, env: string, ref: string): Promise<Release> {
  const { live, idle } = await step(RELEASE_STEPS.findColours, { run: () => colours({ env }), skippable: false });
  const commit = await step(RELEASE_STEPS.resolveRef, { run: () => resolveRef({ env, host: idle, ref }), skippable: false });
  return { live, idle, commit };
}

export async function installOnIdle({ step }: Runbook, env: string, { idle, commit }: Release): Promise<void> {
  await step(RELEASE_STEPS.install(idle), {
    run: () => installRelease({ env, host: idle, commit }),
    undo: () => undo.stopApp({ env, host: idle }),
    skippable: false,
  });
}

export async function switchColours(rb: Runbook, env: string, { live, idle, commit }: Release, options: SwitchOptions): Promise<void> {
  const { step, approval } = rb;
  await step(RELEASE_STEPS.start(idle), {
    run: () => restartApp({ env, host: idle }),
    undo: () => undo.stopApp({ env, host: idle }),
    skippable: false,
  });
  // Traffic moves only to a colour that answered healthy: never skipped.
  await step(RELEASE_STEPS.healthCheck(idle), { run: () => checkHealth({ env, host: idle, commit }), skippable: false });
  if (options.gate) await approval(RELEASE_STEPS.switchGate);
  await step(RELEASE_STEPS.switchTraffic(idle), {
    run: () => switchUpstream({ env, host: idle }),
    undo: () => undo.switchUpstream({ env, host: live }),
    skippable: false,
  });
  await step(RELEASE_STEPS.checkThroughLb, { run: () => checkThroughLb({ env, commit }), skippable: false });
  await step(RELEASE_STEPS.rollbackWindow(options.window), {
    run: () => sleep(options.windowMs),
    skippable: true,
    why: 'the new colour already serves; skipping only ends the wait early',
  });
  await step(RELEASE_STEPS.stopOld(live), {
    run: () => stopApp({ env, host: live }),
    skippable: true,
    why: 'the old colour takes no traffic; it can be stopped by hand',
  });
  // With the old colour stopped there is nothing to switch back to.
  rb.settle(`${idle} serves ${commit.slice(0, 12)} and ${live} is stopped`);
}
