// A fleet's hosts, one at a time as a rolling deploy or a fleet command sees them: the plan of
// batches (decided here, on the worker, from the upstream and the inventory), the commit each
// host runs, a release rolled onto one host and rolled back off it, a command run on one host.
// A host's restart is guarded by a marker on the host (ssh/once.ts): a retried activity, or a
// worker killed mid-step, never restarts a host twice for the same change.
import { ApplicationFailure } from '@temporalio/common';
import { planBatches, type FleetPlan } from '../common/fleet-plan';
import { appGit } from './app-user';
import { environment, serviceCommand } from './env-vars';
import { checkedOutCommit, installRelease, resolveRef } from './release';
import { runOnce } from './ssh/once';
import { tail } from './ssh/redact';
import { runOn } from './ssh/run';
import { resolveTarget } from './ssh/target';
import { fleetConcurrency, readUpstream } from './upstream';
import { appHealthUrl } from './health-probe';
import { secretValues } from './secrets';
import { FailureType } from '../common/failure-types';
import { selectHostNames, SelectorError } from '../common/host-selector';

/** Several hosts asked at once inside one activity, at most this many at a time. */
async function eachHost<T>(
  hosts: readonly string[],
  limit: number,
  fn: (host: string) => Promise<T>,
): Promise<Record<string, T>> {
  const out: Record<string, T> = {};
  let next = 0;
  const lane = async () => {
    while (next < hosts.length) {
      const host = hosts[next++];
      out[host] = await fn(host);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, hosts.length)) }, lane));
  return out;
}

export interface RollingPlan extends FleetPlan {
  concurrency: number;
}

/** The batches of a rolling deploy over the web hosts taking traffic now (drained ones stay out). */
export async function rollingPlan({
  env,
  batches,
  maxFailures,
}: {
  env: string;
  batches: string;
  maxFailures: string;
}): Promise<RollingPlan> {
  const e = environment(env);
  const serving = (await readUpstream(env)).filter((s) => !s.down).map((s) => s.host);
  try {
    return { ...planBatches(serving, batches, maxFailures), concurrency: fleetConcurrency(e) };
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`${env}: ${(err as Error).message}`, FailureType.BadInput);
  }
}

/** The hosts a selector names (common/host-selector.ts), and what the run needs to know of the environment. */
export async function selectHosts({
  env,
  selector,
}: {
  env: string;
  selector: string;
}): Promise<{ hosts: string[]; concurrency: number; protected: boolean }> {
  const e = environment(env);
  let hosts: string[];
  try {
    hosts = selectHostNames(e, selector);
  } catch (err) {
    if (!(err instanceof SelectorError)) throw err;
    throw ApplicationFailure.nonRetryable(`${env}: ${err.message}`, FailureType.BadInput);
  }
  return { hosts, concurrency: fleetConcurrency(e), protected: e.protected };
}

/** The commit each host has checked out: what a rollback puts back. */
export async function checkedOutCommits({
  env,
  hosts,
}: {
  env: string;
  hosts: string[];
}): Promise<Record<string, string>> {
  return eachHost(hosts, fleetConcurrency(environment(env)), (host) => checkedOutCommit({ env, host }));
}

/** Hosts tried in turn for the ref before the run gives up on reaching any. */
const REF_HOSTS_TRIED = 5;

/**
 * The ref's commit, asked of the fleet's hosts in turn: a host that cannot be reached is a
 * host, not the fleet, so the next one is asked. A ref that names no commit is an answer.
 */
export async function resolveRefOnFleet({
  env,
  hosts,
  ref,
}: {
  env: string;
  hosts: string[];
  ref: string;
}): Promise<string> {
  let last: unknown = new Error(`${env}: no host to resolve ${JSON.stringify(ref)} on`);
  for (const host of hosts.slice(0, REF_HOSTS_TRIED)) {
    try {
      return await resolveRef({ env, host, ref });
    } catch (err) {
      if (err instanceof ApplicationFailure && err.type === FailureType.UnknownRef) throw err;
      last = err;
    }
  }
  throw last;
}

/** What a pre-flight read of the fleet found: each readable host's commit, and why the others could not be read. */
export interface FleetCommits {
  commits: Record<string, string>;
  unreadable: Record<string, string>;
}

/**
 * The commit each host has checked out, read host by host: a host that cannot be reached or
 * read (after a second try) is named with why, and the run leaves it out instead of failing
 * the fleet over it (workflows/rolling-deploy.ts).
 */
export async function readCommits({ env, hosts }: { env: string; hosts: string[] }): Promise<FleetCommits> {
  const readOne = (host: string) => checkedOutCommit({ env, host });
  const read = await eachHost(hosts, fleetConcurrency(environment(env)), (host) =>
    readOne(host)
      .catch(() => new Promise((r) => setTimeout(r, 1000)).then(() => readOne(host)))
      .then(
        (commit) => ({ commit }),
        (err: unknown) => ({ why: String((err as Error)?.message ?? err).slice(0, 300) }),
      ),
  );
  const out: FleetCommits = { commits: {}, unreadable: {} };
  for (const host of hosts) {
    const r = read[host];
    if ('commit' in r) out.commits[host] = r.commit;
    else out.unreadable[host] = r.why;
  }
  return out;
}

export interface RollHostInput {
  env: string;
  /** The rolling deploy's run id: the key of the markers that make a restart act once. */
  runId: string;
  host: string;
  commit: string;
}

function restartOnce(input: RollHostInput, step: string) {
  const e = environment(input.env);
  return runOnce(
    resolveTarget(input),
    input.runId,
    `${step}-${input.host}-${input.commit.slice(0, 12)}`,
    serviceCommand(e, 'app', 'reload'),
    { retryable: false },
  );
}

/** Checks out `commit`, applies its expand migrations and restarts the app on it, once per run. */
export async function rollHost(input: RollHostInput): Promise<{ changed: boolean }> {
  await installRelease(input);
  return { changed: (await restartOnce(input, 'roll')).ran };
}

/** Puts `commit` (the one the host ran before) back and restarts, once per run; no migration runs backwards. */
export async function rollBackHost(input: RollHostInput): Promise<{ changed: boolean }> {
  const e = environment(input.env);
  if (!/^[0-9a-f]{40}$/.test(input.commit))
    throw ApplicationFailure.nonRetryable(`not a commit id: ${input.commit}`, FailureType.BadInput);
  const target = resolveTarget(input);
  const git = appGit(e, target);
  const head = (await runOn(target, [...git, 'rev-parse', 'HEAD'])).stdout.trim();
  const served = await servedCommit(input.env, input.host);
  // Nothing to undo on a host that never left the commit (it failed before changing, or was rolled back already).
  if (head === input.commit && served === input.commit) return { changed: false };
  await runOn(target, [...git, 'checkout', '--quiet', '--force', '--detach', input.commit]);
  return { changed: (await restartOnce(input, 'rollback')).ran };
}

/** The commit the app on the host says it serves, or undefined when it does not answer healthy. */
async function servedCommit(env: string, host: string): Promise<string | undefined> {
  const e = environment(env);
  const url = appHealthUrl(e, host);
  const r = await runOn(resolveTarget({ env, host }), ['curl', '-sS', '--max-time', '5', url], {
    okExitCodes: [0, 7, 28, 52, 56],
  });
  try {
    return (JSON.parse(r.stdout) as { commit?: string }).commit;
  } catch {
    return undefined;
  }
}

export interface HostCommandResult {
  exitCode: number;
  durationMs: number;
  /** The last lines of stdout and stderr, bounded. */
  outputTail: string;
}

const OUTPUT_TAIL = 500;
const COMMAND_TIMEOUT_MS = 10 * 60_000;

/**
 * One argv on one host, never through a shell of ours; a non-zero exit is a result, not an
 * error (the workflow counts it against the budget). Once per run and host, by marker. The
 * command is the operator's, so it may print anything, the environment's secrets too (`cat` of
 * the app's .env): its output, heartbeats and errors are redacted of every secret the
 * environment defines before they leave the activity for the run's history and every view.
 */
export async function hostCommand({
  env,
  runId,
  host,
  argv,
}: {
  env: string;
  runId: string;
  host: string;
  argv: string[];
}): Promise<HostCommandResult> {
  if (!argv.length || argv.some((a) => typeof a !== 'string'))
    throw ApplicationFailure.nonRetryable('the command must be a non-empty argv', FailureType.BadInput);
  const e = environment(env);
  const secrets = await secretValues(e, Object.keys(e.secrets));
  const started = Date.now();
  const r = await runOnce(resolveTarget({ env, host }), runId, `command-${host}`, argv, {
    okExitCodes: Array.from({ length: 256 }, (_, i) => i),
    timeoutMs: COMMAND_TIMEOUT_MS,
    retryable: false,
    secrets,
  });
  const out = r.ran
    ? [r.stdout.trimEnd(), r.stderr.trimEnd()].filter(Boolean).join('\n')
    : '(already run on this host by this run)';
  return { exitCode: r.exitCode, durationMs: Date.now() - started, outputTail: tail(out, 20, OUTPUT_TAIL) };
}
