// The load balancer's upstream as a list of hosts: which web hosts take traffic, which are
// drained (listed `down`, so an operator reading the file sees them), and the colours of a
// blue/green fleet whose colours are groups of hosts. Every change is written beside the file
// and renamed over it, checked with nginx -t (put back at once when refused), then reloaded.
// The nginx reloaded is `services.upstream` when the inventory has one: an nginx of its own
// that holds only the upstream, behind the nginx that holds the clients' connections, which a
// switch or a drain then never reloads (a reload closes every idle keep-alive connection).
import { ApplicationFailure } from '@temporalio/common';
import type { Environment } from '../src/inventory';
import { environment, hostsWithRole, serviceCommand } from './env-vars';
import { requiredVar } from '../src/vars';
import { runOn } from './ssh/run';
import { resolveTarget, type SshTarget } from './ssh/target';
import { FailureType } from '../common/failure-types';

export interface UpstreamServer {
  host: string;
  /** Drained: listed but taking no traffic. */
  down: boolean;
}

/** How long a drain waits for nginx's old workers to finish the requests they were serving. */
const DRAIN_WAIT_MS = 15_000;

interface LbContext {
  e: Environment;
  target: SshTarget;
  upstreamFile: string;
  /** The service whose `test` and `reload` a change runs: `upstream` when declared, else `nginx`. */
  service: string;
}

function lbContext(env: string): LbContext {
  const e = environment(env);
  const [lb] = hostsWithRole(e, 'lb');
  if (!lb) throw ApplicationFailure.nonRetryable(`${env}: no host has the lb role`, FailureType.BadInventory);
  return {
    e,
    target: resolveTarget({ env, host: lb }),
    upstreamFile: requiredVar(e, 'upstreamFile'),
    service: e.services.upstream ? 'upstream' : 'nginx',
  };
}

/** How many hosts a fleet runbook changes at once: `vars.fleetConcurrency`, decided on the worker. */
export function fleetConcurrency(e: Environment): number {
  return e.vars.fleetConcurrency;
}

/** The servers the file lists, as inventory hosts; an address no web host has is an error. */
export function parseUpstream(e: Environment, text: string, file: string): UpstreamServer[] {
  const servers: UpstreamServer[] = [];
  for (const m of text.matchAll(/^\s*server\s+([^\s:;]+)(?::\d+)?([^;]*);/gm)) {
    const address = m[1];
    const host = Object.entries(e.hosts).find(([, h]) => h.address === address && h.roles.includes('web'))?.[0];
    if (!host)
      throw ApplicationFailure.nonRetryable(
        `${e.environment}: ${file} lists ${address}, which is no web host of the inventory`,
        FailureType.UnknownUpstream,
      );
    servers.push({ host, down: /\bdown\b/.test(m[2]) });
  }
  return servers;
}

/** The file's content for these servers: one line per host, in the order given. */
export function renderUpstream(e: Environment, servers: readonly UpstreamServer[]): string {
  const upstream = requiredVar(e, 'upstreamName');
  const port = String(e.vars.appPort);
  const lines = servers.map(({ host, down }) => {
    const h = e.hosts[host];
    if (!h?.roles.includes('web'))
      throw ApplicationFailure.nonRetryable(`${e.environment}: ${host} is not a web host`, FailureType.BadInput);
    return down
      ? `    server ${h.address}:${port} down; # ${host} (drained)`
      : `    server ${h.address}:${port}; # ${host}`;
  });
  const head = '# The colour that takes traffic; written by the runbook engine.';
  return `${head}\nupstream ${upstream} {\n${lines.join('\n')}\n}\n`;
}

async function readFile(c: LbContext): Promise<string> {
  return (await runOn(c.target, ['cat', '--', c.upstreamFile])).stdout;
}

export async function readUpstream(env: string): Promise<UpstreamServer[]> {
  const c = lbContext(env);
  return parseUpstream(c.e, await readFile(c), c.upstreamFile);
}

/** The upstream's servers as the inventory names them, drained or not. Changes nothing. */
export async function upstreamServers({ env }: { env: string }): Promise<UpstreamServer[]> {
  return readUpstream(env);
}

/**
 * Beside the file while it may say more than nginx has loaded: set before a write, cleared after
 * the reload. An attempt whose worker was lost between the two leaves it, so the retry, finding
 * the file already right, still reloads (else traffic stays where it was, with the file saying
 * otherwise). Not named *.conf: no include picks it up.
 */
export function unappliedMark(upstreamFile: string): string {
  return `${upstreamFile}.unapplied`;
}

async function unapplied(c: LbContext): Promise<boolean> {
  const mark = unappliedMark(c.upstreamFile);
  return (await runOn(c.target, ['test', '-e', mark], { okExitCodes: [0, 1] })).exitCode === 0;
}

/** Writes, tests and reloads; nothing when the file already says this and nginx has loaded it. */
async function writeUpstream(c: LbContext, previous: string, content: string): Promise<boolean> {
  const wasUnapplied = await unapplied(c);
  if (previous === content && !wasUnapplied) return false;
  const mark = unappliedMark(c.upstreamFile);
  const write = (text: string) =>
    runOn(c.target, ['sh', '-c', ': > "$2" && cat > "$1.new" && mv -f "$1.new" "$1"', 'write', c.upstreamFile, mark], {
      stdin: text,
    });
  if (previous !== content) await write(content);
  try {
    await runOn(c.target, serviceCommand(c.e, c.service, 'test'), { retryable: false });
  } catch (err) {
    if (previous !== content) {
      await write(previous);
      // What nginx has loaded is `previous` again, unless an earlier write was never reloaded.
      if (!wasUnapplied) await runOn(c.target, ['rm', '-f', '--', mark]);
    }
    throw err;
  }
  await runOn(c.target, serviceCommand(c.e, c.service, 'reload'));
  await runOn(c.target, ['rm', '-f', '--', mark]);
  return true;
}

/**
 * Waits until nginx's workers from before the reload have finished their requests: only then
 * does no request still travel to a drained host, which may now be stopped.
 */
async function waitForOldWorkers(c: LbContext): Promise<void> {
  const deadline = Date.now() + DRAIN_WAIT_MS;
  for (;;) {
    // The [n]: the pattern must not match the shell that runs pgrep, whose command line holds it.
    const r = await runOn(c.target, ['pgrep', '-f', 'nginx: worker process is shutting dow[n]'], {
      okExitCodes: [0, 1],
    });
    if (r.exitCode === 1 || Date.now() > deadline) return;
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** Points the upstream at exactly these hosts (a colour of one host or many). */
export async function setUpstream({ env, hosts }: { env: string; hosts: string[] }): Promise<{ changed: boolean }> {
  if (!hosts.length)
    throw ApplicationFailure.nonRetryable(`${env}: an upstream needs at least one host`, FailureType.BadInput);
  const c = lbContext(env);
  const previous = await readFile(c);
  return {
    changed: await writeUpstream(
      c,
      previous,
      renderUpstream(
        c.e,
        hosts.map((host) => ({ host, down: false })),
      ),
    ),
  };
}

export interface DrainResult {
  changed: boolean;
  /** Hosts taking traffic after the change. */
  serving: number;
}

/**
 * Marks `hosts` down (drain) or up (put back), leaving every other line as it is, in one
 * write: hosts of a batch change together, never racing each other on the file. A drain that
 * would leave no host taking traffic is refused. A drain returns once no request is on its way
 * to a drained host.
 */
export async function markUpstream({
  env,
  hosts,
  down,
}: {
  env: string;
  hosts: string[];
  down: boolean;
}): Promise<DrainResult> {
  const c = lbContext(env);
  const previous = await readFile(c);
  const servers = parseUpstream(c.e, previous, c.upstreamFile);
  const missing = hosts.filter((h) => !servers.some((s) => s.host === h));
  // A host put back that the file never listed (added to the inventory since) joins the end.
  if (missing.length && down)
    throw ApplicationFailure.nonRetryable(
      `${env}: ${missing.join(', ')} not in ${c.upstreamFile}`,
      FailureType.UnknownUpstream,
    );
  const next = [
    ...servers.map((s) => (hosts.includes(s.host) ? { ...s, down } : s)),
    ...missing.map((host) => ({ host, down })),
  ];
  const serving = next.filter((s) => !s.down).length;
  if (serving === 0)
    throw ApplicationFailure.nonRetryable(
      `${env}: draining ${hosts.join(', ')} would leave no host taking traffic`,
      FailureType.WouldDrainAll,
    );
  const changed = await writeUpstream(c, previous, renderUpstream(c.e, next));
  if (changed && down) await waitForOldWorkers(c);
  return { changed, serving };
}

export interface ColourGroup {
  colour: string;
  hosts: string[];
}

/**
 * The colour taking traffic (every host the upstream lists, all of one colour) and the idle
 * colour (every web host of the other one), with how many hosts to change at once.
 */
export async function colourGroups({
  env,
}: {
  env: string;
}): Promise<{ live: ColourGroup; idle: ColourGroup; concurrency: number }> {
  const c = lbContext(env);
  const servers = parseUpstream(c.e, await readFile(c), c.upstreamFile).filter((s) => !s.down);
  const colourOf = (host: string) => c.e.hosts[host].colour;
  const liveColours = [...new Set(servers.map((s) => colourOf(s.host)))];
  if (liveColours.length !== 1 || !liveColours[0]) {
    const listed = servers.map((s) => `${s.host} (${colourOf(s.host) ?? 'no colour'})`).join(', ') || 'no host';
    throw ApplicationFailure.nonRetryable(
      `${env}: blue/green needs the upstream to list hosts of one colour; ${c.upstreamFile} lists ${listed}`,
      FailureType.UnknownUpstream,
    );
  }
  const live = liveColours[0];
  const idleHosts = hostsWithRole(c.e, 'web').filter((h) => colourOf(h) && colourOf(h) !== live);
  if (!idleHosts.length)
    throw ApplicationFailure.nonRetryable(
      `${env}: no idle colour: blue/green needs a web host of each colour`,
      FailureType.BadInventory,
    );
  return {
    live: { colour: live, hosts: servers.map((s) => s.host) },
    idle: { colour: colourOf(idleHosts[0])!, hosts: idleHosts },
    concurrency: fleetConcurrency(c.e),
  };
}
