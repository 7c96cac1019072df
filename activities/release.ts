// A release of the application on one web host: resolve a ref, check out a commit, migrate,
// start, stop, and ask the app itself which commit it serves.
import { ApplicationFailure } from '@temporalio/common';
import { runOn } from './ssh/run';
import { resolveTarget } from './ssh/target';
import { appGit, asAppUser } from './app-user';
import { environment, serviceCommand } from './env-vars';
import { requiredVar } from '../src/vars';
import { appHealthUrl, expectServing, probeHealth } from './health-probe';
import { migrationSecrets } from './secrets';
import { FailureType } from '../common/failure-types';

export interface HostInput {
  env: string;
  host: string;
}

function appContext({ env, host }: HostInput) {
  const e = environment(env);
  const target = resolveTarget({ env, host });
  return { e, target, appDir: requiredVar(e, 'appDir'), git: appGit(e, target), asApp: asAppUser(e, target) };
}

/** The commit a ref (tag, branch or commit id) names in the application's repository. */
export async function resolveRef(input: HostInput & { ref: string }): Promise<string> {
  const { target, git } = appContext(input);
  await runOn(target, [...git, 'fetch', '--quiet', '--tags', '--force', 'origin'], { timeoutMs: 120_000 });
  for (const candidate of [input.ref, `origin/${input.ref}`]) {
    const found = await runOn(
      target,
      [...git, 'rev-parse', '--verify', '--quiet', '--end-of-options', `${candidate}^{commit}`],
      { okExitCodes: [0, 1, 128] },
    );
    if (found.exitCode === 0) return found.stdout.trim();
  }
  throw ApplicationFailure.nonRetryable(
    `ref ${JSON.stringify(input.ref)} names no commit in the application's repository`,
    FailureType.UnknownRef,
  );
}

/** The commit checked out on the host (what it would serve once started). */
export async function checkedOutCommit(input: HostInput): Promise<string> {
  const { target, git } = appContext(input);
  return (await runOn(target, [...git, 'rev-parse', 'HEAD'])).stdout.trim();
}

/** Checks out `commit` and applies the backward-compatible (expand) migrations. Idempotent. */
export async function installRelease(input: HostInput & { commit: string }): Promise<void> {
  const { e, target, git, appDir, asApp } = appContext(input);
  if (!/^[0-9a-f]{40}$/.test(input.commit))
    throw ApplicationFailure.nonRetryable(`not a commit id: ${input.commit}`, FailureType.BadInput);
  await runOn(target, [...git, 'fetch', '--quiet', '--tags', '--force', 'origin'], { timeoutMs: 120_000 });
  await runOn(target, [...git, 'checkout', '--quiet', '--detach', input.commit]);
  await runOn(target, [...asApp, ...requiredVar(e, 'migrate'), '--phase', 'expand'], {
    cwd: appDir,
    timeoutMs: 600_000,
    retryable: false,
    secrets: await migrationSecrets(e),
  });
}

export async function restartApp(input: HostInput): Promise<void> {
  const { e, target } = appContext(input);
  await runOn(target, serviceCommand(e, 'app', 'reload'), { retryable: false });
}

export async function stopApp(input: HostInput): Promise<void> {
  const { e, target } = appContext(input);
  await runOn(target, serviceCommand(e, 'app', 'stop'), {
    okExitCodes: [0, ...(e.services.app?.alreadyStopped ?? [])],
  });
}

/** Asks the app on the host for its health; fails (retryably) until it serves `commit`. */
export async function checkHealth(input: HostInput & { commit: string }): Promise<{ version: string; commit: string }> {
  const { e, target } = appContext(input);
  return expectServing(
    await probeHealth(target, appHealthUrl(e, input.host)),
    input.commit,
    `${input.env}/${input.host}`,
    target.name,
  );
}

/** Applies every pending migration, contract ones included. */
export async function migrateAll(input: HostInput): Promise<void> {
  const { e, target, appDir, asApp } = appContext(input);
  await runOn(target, [...asApp, ...requiredVar(e, 'migrate')], {
    cwd: appDir,
    timeoutMs: 600_000,
    retryable: false,
    secrets: await migrationSecrets(e),
  });
}
