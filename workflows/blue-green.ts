// The blue/green steps, shared by deploy and migrate-then-code: the release goes to the idle
// colour (checked out, expand migrations applied while the live colour keeps serving), is
// started and health-checked there, approved where the rules say, and only then takes traffic; the old
// colour keeps running for a rollback window, then stops. A colour is one host or a group:
// each step then acts on every host of the group, a bounded number at a time, and fails when
// any host fails, so traffic moves only when every idle host is healthy. With an error budget
// (`--max-failures`), a host of the new colour that fails is left out and listed instead, and
// traffic moves to the others only if they are enough (`--min-capacity` of the serving hosts).
import { ApplicationFailure, patched, sleep } from '@temporalio/workflow';
import type * as activities from '../activities';
import { parseDuration } from '../common/duration';
import type { Runbook } from './kernel';
import { forEachHost, onEvery, stepActivities, undoActivities } from './kernel';
import { RELEASE_STEPS } from '../common/step-names';
import { budgetOf, colourLabel } from '../common/fleet-plan';
import { FailureType } from '../common/failure-types';
import type { HostRecord } from '../common/shared';
import { paramValues, type ParamsOf } from '../common/params';
import { RELEASE_PARAMS } from '../common/runbook-params';
import { hostWithRole } from '../common/plan';

const {
  colours,
  colourGroups,
  resolveRef,
  resolveRefOnFleet,
  installRelease,
  restartApp,
  switchUpstream,
  checkThroughLb,
  stopApp,
} = stepActivities<typeof activities>({
  startToCloseTimeout: '10 minutes',
});
// A host left out may not answer at all: tried twice, and what is left is listed.
const { stopApp: stopLeftOut } = stepActivities<typeof activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 2 },
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
  /** How many hosts of the new colour may be left out, and those that were, with why. */
  budget: number;
  leftOut: HostRecord[];
  /** With hosts left out, how many healthy hosts of the new colour traffic moves to at least. */
  floor: number;
}

/** The hosts of the new colour still in the release: every one, less those left out. */
export function inRelease(r: Release): string[] {
  return r.idleHosts.filter((h) => !r.leftOut.some((o) => o.host === h));
}

/** Finds the colours and the commit the ref names; changes nothing. */
export async function planRelease({ step }: Runbook, env: string, params: ReleaseParams): Promise<Release> {
  const { ref } = params;
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
      budget: 0,
      leftOut: [],
      floor: 1,
    };
  }
  const groups = await step(RELEASE_STEPS.findColours, {
    run: () => colourGroups({ env }),
    skippable: false,
    reads: true,
    plan: (c) => ({ where: hostWithRole(c, 'lb'), does: `read ${String(c.vars.upstreamFile)}` }),
  });
  const [live, idle] = [groups.live.hosts[0], groups.idle.hosts[0]];
  const values = paramValues(RELEASE_PARAMS, params);
  const budget = budgetOf(values['max-failures'], groups.idle.hosts.length);
  // Runs recorded before hosts could be left out, and runs with no budget, act as before.
  const tolerant = budget > 0 && patched('blue-green-leaves-hosts-out');
  const floor = Math.ceil((groups.live.hosts.length * Number(values['min-capacity'].slice(0, -1))) / 100);
  const commit = await step(RELEASE_STEPS.resolveRef, {
    run: () =>
      tolerant ? resolveRefOnFleet({ env, hosts: groups.idle.hosts, ref }) : resolveRef({ env, host: idle, ref }),
    skippable: false,
    reads: true,
    plan: {
      where: tolerant ? `${idle} (the next host if it cannot be reached)` : idle,
      does: `git fetch; git rev-parse ${ref}^{commit}`,
    },
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
    budget: tolerant ? budget : 0,
    leftOut: [],
    floor,
  };
}

/**
 * `fn` on every host of the new colour still in the release. Without a budget any failure
 * fails the step, as it always did; with one, a host that fails is left out (its app stopped
 * where it may have started) and listed, and the step fails only once more hosts than the
 * budget are out.
 */
async function onNewColour(
  rb: Runbook,
  env: string,
  r: Release,
  stage: string,
  fn: (host: string) => Promise<unknown>,
): Promise<void> {
  if (!r.budget) {
    await onEvery(r.idleHosts, r.concurrency, fn);
    return;
  }
  const failed = (await forEachHost(inRelease(r), r.concurrency, fn)).filter((o) => !o.ok);
  if (!failed.length) return;
  const stopped = await forEachHost(
    failed.map((o) => o.host),
    r.concurrency,
    (host) => stopLeftOut({ env, host }),
  );
  const records: HostRecord[] = failed.map((o, i) => {
    const unstopped = stopped[i].ok ? '' : `; its app could not be stopped: ${stopped[i].error}`;
    return { host: o.host, batch: 1, outcome: 'failed', error: `left out at ${stage}: ${o.error}${unstopped}` };
  });
  r.leftOut.push(...records);
  rb.hosts(records);
  if (r.leftOut.length > r.budget)
    throw ApplicationFailure.nonRetryable(
      `error budget spent: ${r.leftOut.length} hosts failed (${r.leftOut.map((o) => o.host).join(', ')}), ` +
        `at most ${r.budget} may`,
      FailureType.ErrorBudgetSpent,
    );
}

export async function installOnIdle(rb: Runbook, env: string, r: Release): Promise<void> {
  await rb.step(RELEASE_STEPS.install(r.idleLabel), {
    run: () => onNewColour(rb, env, r, 'install', (host) => installRelease({ env, host, commit: r.commit })),
    undo: () => onEvery(inRelease(r), r.concurrency, (host) => undo.stopApp({ env, host })),
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
  const { idleLabel, liveLabel, liveHosts, concurrency, commit } = r;
  // A colour of one host is named as before, so runs recorded then replay the same.
  const upstream = (hosts: string[]) => (hosts.length === 1 ? { env, host: hosts[0] } : { env, hosts });
  await step(RELEASE_STEPS.start(idleLabel), {
    run: () => onNewColour(rb, env, r, 'start', (host) => restartApp({ env, host })),
    undo: () => onEvery(inRelease(r), concurrency, (host) => undo.stopApp({ env, host })),
    skippable: false,
    plan: (c) => ({ where: idleLabel, does: (c.services.app?.reload ?? []).join(' '), undo: 'stop the app there' }),
  });
  // Traffic moves only to hosts that answered healthy: never skipped.
  await step(RELEASE_STEPS.healthCheck(idleLabel), {
    run: () => onNewColour(rb, env, r, 'health check', (host) => checkHealth({ env, host, commit })),
    skippable: false,
    plan: (c) => ({ where: idleLabel, does: `GET ${c.vars.healthPath} serves ${commit.slice(0, 12)}` }),
  });
  if (r.leftOut.length) {
    const healthy = inRelease(r).length;
    await step(RELEASE_STEPS.capacityFloor, {
      run: async () => {
        if (healthy < r.floor)
          throw ApplicationFailure.nonRetryable(
            `${healthy} of ${r.idleHosts.length} hosts of the new colour are healthy; traffic moves to at least ` +
              `${r.floor} (--min-capacity of the ${liveHosts.length} serving now)`,
            FailureType.BelowCapacityFloor,
          );
        return { changed: false, detail: `${healthy} healthy, at least ${r.floor} needed` };
      },
      skippable: false,
      reads: true,
      plan: { where: 'Temporal', does: `at least ${r.floor} healthy hosts of ${idleLabel}` },
    });
  }
  // Four eyes before traffic moves, where the worker's rules say (protected, or --gate).
  await gate(RELEASE_STEPS.switchGate);
  await step(RELEASE_STEPS.switchTraffic(idleLabel), {
    run: () => switchUpstream(upstream(inRelease(r))),
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
  const out = r.leftOut.length ? ` (${r.leftOut.map((o) => o.host).join(', ')} left out)` : '';
  rb.settle(`${idleLabel} serves ${commit.slice(0, 12)}${out} and ${liveLabel} is stopped`, ifLaterFails);
}
