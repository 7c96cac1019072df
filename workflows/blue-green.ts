// The blue/green steps, shared by deploy and migrate-then-code: the release goes to the idle
// colour (checked out, expand migrations applied while the live colour keeps serving), is
// started and health-checked there, approved where the rules say, and only then takes traffic; the old
// colour keeps running for a rollback window, then stops. A colour is one host or a group:
// each step then acts on every host of the group, a bounded number at a time, and fails when
// any host fails, so traffic moves only when every idle host is healthy.
import { patched, sleep } from '@temporalio/workflow';
import type * as activities from '../activities';
import { parseDuration } from '../common/duration';
import type { Runbook } from './kernel';
import { onEvery, stepActivities, undoActivities } from './kernel';
import { RELEASE_STEPS } from '../common/step-names';
import { colourLabel } from '../common/fleet-plan';
import { paramValues, type ParamsOf } from '../common/params';
import { RELEASE_PARAMS } from '../common/runbook-params';
import { hostWithRole } from '../common/plan';

const { colours, colourGroups, resolveRef, installRelease, restartApp, switchUpstream, checkThroughLb, stopApp } =
  stepActivities<typeof activities>({
    startToCloseTimeout: '10 minutes',
  });
// A starting app may take a few seconds to answer: asked again for about 15 s, then failed.
const { checkHealth } = stepActivities<typeof activities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '500 milliseconds',
    backoffCoefficient: 1.5,
    maximumInterval: '3 seconds',
    maximumAttempts: 8,
  },
});
const undo = undoActivities<typeof activities>({ startToCloseTimeout: '5 minutes' });

/** What deploy and migrate-then-code are told. */
export type ReleaseParams = ParamsOf<typeof RELEASE_PARAMS>;

export interface SwitchOptions {
  window: string;
  windowMs: number;
}

export function switchOptions(params: ReleaseParams): SwitchOptions {
  const window = paramValues(RELEASE_PARAMS, params)['rollback-window'];
  return { window, windowMs: parseDuration(window, 'rollback-window') };
}

export interface Release {
  /** The first host of each colour: where one host is asked (the ref, the serving commit, migrations). */
  live: string;
  idle: string;
  commit: string;
  /** Every host of each colour, and how many of them change at once. */
  liveHosts: string[];
  idleHosts: string[];
  concurrency: number;
  /** How steps name a colour: its host when it has one, else the colour and its size. */
  liveLabel: string;
  idleLabel: string;
}

/** Finds the colours and the commit the ref names; changes nothing. */
export async function planRelease({ step }: Runbook, env: string, ref: string): Promise<Release> {
  // Runs recorded before colours could be groups asked for one host of each.
  if (!patched('colour-groups')) {
    const { live, idle } = await step(RELEASE_STEPS.findColours, { run: () => colours({ env }), skippable: false });
    const commit = await step(RELEASE_STEPS.resolveRef, {
      run: () => resolveRef({ env, host: idle, ref }),
      skippable: false,
    });
    return {
      live,
      idle,
      commit,
      liveHosts: [live],
      idleHosts: [idle],
      concurrency: 1,
      liveLabel: live,
      idleLabel: idle,
    };
  }
  const groups = await step(RELEASE_STEPS.findColours, {
    run: () => colourGroups({ env }),
    skippable: false,
    reads: true,
    plan: (c) => ({ where: hostWithRole(c, 'lb'), does: `read ${String(c.vars.upstreamFile)}` }),
  });
  const [live, idle] = [groups.live.hosts[0], groups.idle.hosts[0]];
  const commit = await step(RELEASE_STEPS.resolveRef, {
    run: () => resolveRef({ env, host: idle, ref }),
    skippable: false,
    reads: true,
    plan: { where: idle, does: `git fetch; git rev-parse ${ref}^{commit}` },
  });
  return {
    live,
    idle,
    commit,
    liveHosts: groups.live.hosts,
    idleHosts: groups.idle.hosts,
    concurrency: groups.concurrency,
    liveLabel: colourLabel(groups.live.colour, groups.live.hosts),
    idleLabel: colourLabel(groups.idle.colour, groups.idle.hosts),
  };
}

export async function installOnIdle({ step }: Runbook, env: string, r: Release): Promise<void> {
  await step(RELEASE_STEPS.install(r.idleLabel), {
    run: () => onEvery(r.idleHosts, r.concurrency, (host) => installRelease({ env, host, commit: r.commit })),
    undo: () => onEvery(r.idleHosts, r.concurrency, (host) => undo.stopApp({ env, host })),
    skippable: false,
    plan: {
      where: r.idleLabel,
      does: `git checkout --detach ${r.commit.slice(0, 12)}; migrate --phase expand`,
      undo: 'stop the app there',
    },
  });
}

export async function switchColours(
  rb: Runbook,
  env: string,
  r: Release,
  options: SwitchOptions,
  ifLaterFails?: (failedStep: string | undefined) => string[],
): Promise<void> {
  const { step, gate } = rb;
  const { idleLabel, liveLabel, idleHosts, liveHosts, concurrency, commit } = r;
  // A colour of one host is named as before, so runs recorded then replay the same.
  const upstream = (hosts: string[]) => (hosts.length === 1 ? { env, host: hosts[0] } : { env, hosts });
  await step(RELEASE_STEPS.start(idleLabel), {
    run: () => onEvery(idleHosts, concurrency, (host) => restartApp({ env, host })),
    undo: () => onEvery(idleHosts, concurrency, (host) => undo.stopApp({ env, host })),
    skippable: false,
    plan: (c) => ({ where: idleLabel, does: (c.services.app?.reload ?? []).join(' '), undo: 'stop the app there' }),
  });
  // Traffic moves only to a colour whose every host answered healthy: never skipped.
  await step(RELEASE_STEPS.healthCheck(idleLabel), {
    run: () => onEvery(idleHosts, concurrency, (host) => checkHealth({ env, host, commit })),
    skippable: false,
    plan: (c) => ({ where: idleLabel, does: `GET ${c.vars.healthPath} serves ${commit.slice(0, 12)}` }),
  });
  // Four eyes before traffic moves, where the worker's rules say (protected, or --gate).
  await gate(RELEASE_STEPS.switchGate);
  await step(RELEASE_STEPS.switchTraffic(idleLabel), {
    run: () => switchUpstream(upstream(idleHosts)),
    undo: () => undo.switchUpstream(upstream(liveHosts)),
    skippable: false,
    plan: (c) => ({
      where: hostWithRole(c, 'lb'),
      does: `point ${String(c.vars.upstreamName)} at ${idleLabel}; nginx -t; reload`,
      undo: `point it back at ${liveLabel}`,
    }),
  });
  await step(RELEASE_STEPS.checkThroughLb, {
    run: () => checkThroughLb({ env, commit }),
    skippable: false,
    plan: (c) => ({ where: hostWithRole(c, 'lb'), does: `GET ${c.vars.healthPath} serves ${commit.slice(0, 12)}` }),
  });
  await step(RELEASE_STEPS.rollbackWindow(options.window), {
    run: () => sleep(options.windowMs),
    skippable: true,
    why: 'the new colour already serves; skipping only ends the wait early',
    plan: { where: 'Temporal', does: 'wait' },
  });
  await step(RELEASE_STEPS.stopOld(liveLabel), {
    run: () => onEvery(liveHosts, concurrency, (host) => stopApp({ env, host })),
    skippable: true,
    why: 'the old colour takes no traffic; it can be stopped by hand',
    plan: (c) => ({ where: liveLabel, does: (c.services.app?.stop ?? []).join(' ') }),
  });
  // With the old colour stopped there is nothing to switch back to.
  rb.settle(`${idleLabel} serves ${commit.slice(0, 12)} and ${liveLabel} is stopped`, ifLaterFails);
}
