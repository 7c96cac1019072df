// The application's database: a safety dump before schema changes, and the migration state.
import { ApplicationFailure } from '@temporalio/common';
import { asAppUser } from './app-user';
import { runOn } from './ssh/run';
import { resolveTarget } from './ssh/target';
import { environment, hostsWithRole } from './env-vars';
import { requiredVar } from '../src/vars';
import { markerPath } from './ssh/once';
import { migrationSecrets } from './secrets';
import { FailureType } from '../common/failure-types';

const BACKUP_DIR = '/var/backups/runbook';

/** pg_dump (custom format) of the app database on the db host, named by run; returns its path. */
export async function safetyBackup({
  env,
  runId,
}: {
  env: string;
  runId: string;
}): Promise<{ path: string; bytes: number }> {
  const e = environment(env);
  const [db] = hostsWithRole(e, 'db');
  if (!db) throw ApplicationFailure.nonRetryable(`${env}: no host has the db role`, FailureType.BadInventory);
  markerPath(runId, 'safety-backup'); // validates the run id for use in a file name
  const target = resolveTarget({ env, host: db });
  const admin = requiredVar(e, 'dbAdmin');
  const file = `${BACKUP_DIR}/${runId}-safety.dump`;
  await runOn(target, ['install', '-d', '-m', '0700', '-o', 'postgres', '--', BACKUP_DIR]);
  await runOn(
    target,
    [...admin, 'pg_dump', '--format=custom', `--file=${file}`, '--', requiredVar(e, 'databaseName')],
    {
      cwd: '/',
      timeoutMs: 3_600_000,
    },
  );
  const bytes = Number((await runOn(target, ['stat', '-c', '%s', '--', file])).stdout.trim());
  return { path: file, bytes };
}

/** The migration state as the app reports it: applied versions and pending ones. */
export async function migrationStatus({
  env,
  host,
}: {
  env: string;
  host: string;
}): Promise<{ applied: string[]; pending: { version: string; phase: string }[] }> {
  const e = environment(env);
  const target = resolveTarget({ env, host });
  const out = await runOn(target, [...asAppUser(e, target), ...requiredVar(e, 'migrate'), '--status'], {
    cwd: requiredVar(e, 'appDir'),
    secrets: await migrationSecrets(e),
  });
  return JSON.parse(out.stdout);
}
