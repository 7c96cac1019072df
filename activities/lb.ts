// The load balancer: which colour takes traffic, switching it, and what it serves.
import { ApplicationFailure } from '@temporalio/common';
import { runOn } from './ssh/run';
import { resolveTarget } from './ssh/target';
import { environment, hostsWithRole } from './env-vars';
import { requiredVar } from '../src/vars';
import { expectServing, lbHealthUrl, probeHealth } from './health-probe';
import { FailureType } from '../common/failure-types';
import { setUpstream } from './upstream';

function lbContext(env: string) {
  const e = environment(env);
  const [lb] = hostsWithRole(e, 'lb');
  if (!lb) throw ApplicationFailure.nonRetryable(`${env}: no host has the lb role`, FailureType.BadInventory);
  return { e, lb, target: resolveTarget({ env, host: lb }), upstreamFile: requiredVar(e, 'upstreamFile') };
}

/** The web host the upstream points at now. */
export async function liveHost({ env }: { env: string }): Promise<string> {
  const { e, target, upstreamFile } = lbContext(env);
  const text = (await runOn(target, ['cat', '--', upstreamFile])).stdout;
  const address = /^\s*server\s+([^\s:;]+)/m.exec(text)?.[1];
  const host = Object.entries(e.hosts).find(([, h]) => h.address === address && h.roles.includes('web'))?.[0];
  if (!host)
    throw ApplicationFailure.nonRetryable(
      `${env}: ${upstreamFile} points at ${address ?? 'nothing'}, which is no web host of the inventory`,
      FailureType.UnknownUpstream,
    );
  return host;
}

/**
 * Points the upstream at `host` (a colour of one host) or at every one of `hosts` (a colour
 * that is a group). Nothing is done when it already does; a config nginx -t refuses is put back
 * at once, so a bad file never waits on disk for the next reload.
 */
export async function switchUpstream({
  env,
  host,
  hosts,
}: {
  env: string;
  host?: string;
  hosts?: string[];
}): Promise<{ changed: boolean }> {
  return setUpstream({ env, hosts: hosts ?? (host ? [host] : []) });
}

/** What the load balancer serves: must be `commit`. */
export async function checkThroughLb({
  env,
  commit,
}: {
  env: string;
  commit: string;
}): Promise<{ version: string; commit: string }> {
  const { e, target } = lbContext(env);
  return expectServing(await probeHealth(target, lbHealthUrl(e)), commit, `${env} through the load balancer`);
}

/** The web host taking traffic and the other one, the idle colour a deploy goes to. */
export async function colours({ env }: { env: string }): Promise<{ live: string; idle: string }> {
  const e = environment(env);
  const live = await liveHost({ env });
  const idle = hostsWithRole(e, 'web').find(
    (h) => h !== live && e.hosts[h].colour && e.hosts[h].colour !== e.hosts[live].colour,
  );
  if (!idle)
    throw ApplicationFailure.nonRetryable(
      `${env}: no idle colour: blue/green needs a web host of each colour`,
      FailureType.BadInventory,
    );
  return { live, idle };
}
