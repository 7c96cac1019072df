// backup's own activities: the undo of a dump, the verification in a scratch database and
// retention. The dump itself (dumpToStore) and dropDatabase are the host library's
// (activities/backup.ts): restore and restore-previous make safety backups with them too.
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityKinds } from '../../activities/registry';
import { dropWorkDatabase, restoreStream, workDatabase } from '../../activities/backup';
import {
  backupStore,
  checkBackupName,
  completeBackups,
  deleteBackupFiles,
  storeFiles,
} from '../../activities/backup-store';
import { countDifferences, dbHost, rowCounts } from '../../activities/postgres';
import { environment } from '../../activities/env-vars';
import { parseBackupName, retained } from '../../common/backup-names';
import { FailureType } from '../../common/failure-types';

/** Deletes backup `name` from the store: the undo of a dump that did not end verified. */
export async function removeBackup({ env, name }: { env: string; name: string }): Promise<void> {
  await deleteBackupFiles(backupStore(env), checkBackupName(env, name));
}

/**
 * A backup never restored is not a backup: restores `name` into a scratch database, compares
 * every table's row count with those recorded at dump time, and always drops the scratch.
 */
export async function verifyInScratch({
  env,
  name,
  tag,
  sha256,
}: {
  env: string;
  name: string;
  tag: string;
  /** What the dump step computed as the bytes passed; absent in runs from before. */
  sha256?: string;
}): Promise<{ tables: number; rows: number }> {
  checkBackupName(env, name);
  const h = dbHost(env);
  const scratch = workDatabase('scratch', tag);
  try {
    const manifest = await restoreStream(h, name, scratch, sha256);
    const differences = countDifferences(manifest.rowCounts, await rowCounts(h, scratch));
    if (differences.length)
      throw ApplicationFailure.nonRetryable(
        `backup ${name} restored with different row counts: ${differences.join('; ')}`,
        'BackupMismatch',
      );
    const counts = Object.values(manifest.rowCounts);
    return { tables: counts.length, rows: counts.reduce((a, b) => a + b, 0) };
  } finally {
    await dropWorkDatabase(h, scratch);
  }
}

/**
 * Keeps the newest backup of each of the `daily` newest days and of each of the `weekly`
 * newest weeks (default: inventory var backupRetention, else the declared defaults), and `keep` (the one
 * just made); deletes this environment's other scheduled backups and the partial files of
 * those. Safety backups and files that do not match the naming pattern are never touched.
 */
export async function applyRetention(input: {
  env: string;
  keep: string;
  daily?: number;
  weekly?: number;
}): Promise<{ kept: string[]; deleted: string[] }> {
  const { env, keep } = input;
  checkBackupName(env, keep);
  // Defaulted where the inventory is read (src/vars.ts), from BACKUP_PARAMS.
  const defaults = environment(env).vars.backupRetention;
  const daily = input.daily ?? defaults.daily;
  const weekly = input.weekly ?? defaults.weekly;
  for (const [what, n] of [
    ['daily', daily],
    ['weekly', weekly],
  ] as const) {
    if (!Number.isInteger(n) || n < 0 || n > 1000)
      throw ApplicationFailure.nonRetryable(
        `retention ${what} must be a whole number from 0 to 1000, not ${n}`,
        FailureType.BadInput,
      );
  }
  const store = backupStore(env);
  const scheduled = (await completeBackups(store, env)).filter((n) => !parseBackupName(n)!.safety);
  const kept = retained(scheduled, daily, weekly).add(keep);
  // Names with files in the store (complete or not) that retention does not keep.
  const names = new Set(
    (await storeFiles(store))
      .map((f) => /^\.?(.+)\.(?:dump|json|sha256)(?:\.partial)?$/.exec(f)?.[1])
      .filter((n): n is string => n !== undefined && parseBackupName(n)?.env === env && !parseBackupName(n)!.safety),
  );
  const deleted = [...names].filter((n) => !kept.has(n)).sort();
  for (const name of deleted) await deleteBackupFiles(store, name);
  return { kept: [...kept].filter((n) => names.has(n)).sort(), deleted };
}

/** What each activity above does, for the registry (activities/registry.ts). */
export default {
  removeBackup: 'acts',
  verifyInScratch: 'reads',
  applyRetention: 'acts',
} satisfies ActivityKinds;
