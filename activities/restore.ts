// Restores: pick and check a backup, maintenance mode on the load balancer, restore into a
// fresh database, verify it, then swap it in by renaming. The application's database is not
// touched until the swap, which is one transaction; its undo swaps the previous one back.
import { ApplicationFailure } from '@temporalio/common';
import { BACKUP_CHOICE, parseBackupName } from '../common/backup-names';
import { backupStore, checkBackupName, completeBackups, readManifest, verifyStoredChecksum } from './backup-store';
import { recordedBackup } from './backup-record';
import { restoreStream, workDatabase } from './backup';
import { environment, hostsWithRole } from './env-vars';
import { requiredVar } from '../src/vars';
import { countDifferences, dbHost, rowCounts } from './postgres';
import { databaseOk, lbHealthUrl, probeHealth } from './health-probe';
import { swapDatabaseBack, swapDatabaseIn } from './database-swap';
import { runOn } from './ssh/run';
import { resolveTarget } from './ssh/target';
import { FailureType } from '../common/failure-types';

/** Whether the environment is marked `protected:` (a restore there waits for approval). */
export async function restorePolicy({ env }: { env: string }): Promise<{ protected: boolean }> {
  return { protected: environment(env).protected };
}

/** `latest` (the newest complete scheduled backup) or a named one, which must exist. */
export async function pickBackup({ env, choice }: { env: string; choice: string }): Promise<string> {
  if (!BACKUP_CHOICE.test(choice))
    throw ApplicationFailure.nonRetryable(
      `${JSON.stringify(choice)} is not "latest" or a backup name`,
      FailureType.BadInput,
    );
  const store = backupStore(env);
  if (choice === 'latest') {
    const latest = (await completeBackups(store, env)).filter((n) => !parseBackupName(n)!.safety).pop();
    if (!latest)
      throw ApplicationFailure.nonRetryable(
        `${env} has no complete backup in ${store.host}:${store.dir}`,
        FailureType.NoSuchBackup,
      );
    return latest;
  }
  await readManifest(store, checkBackupName(env, choice));
  return choice;
}

/**
 * The backup's checksum before anything is touched: the dump, hashed on the store, must match
 * the store's checksum file and manifest, and the sha256 recorded by the run that made it
 * (kept by Temporal, out of the store's reach). A backup no kept run made is refused unless
 * the operator accepts it (`--accept-unrecorded`): the store's word is then all there is.
 */
export async function checkBackup({
  env,
  name,
  acceptUnrecorded,
}: {
  env: string;
  name: string;
  acceptUnrecorded?: boolean;
}): Promise<{ bytes: number; createdAt: string; tables: number; sha256: string; recordedBy: string }> {
  const store = backupStore(env);
  const m = await verifyStoredChecksum(store, checkBackupName(env, name));
  const recorded = await recordedBackup(env, name);
  if (recorded && recorded.sha256 !== m.sha256)
    throw ApplicationFailure.nonRetryable(
      `backup ${name} is not the dump run ${recorded.runId} made: it has sha256 ${m.sha256} on ${store.host}, ` +
        `the run recorded ${recorded.sha256} (the store's checksum file and manifest were rewritten to match); ` +
        'refusing to use it',
      FailureType.CorruptBackup,
    );
  if (!recorded && !acceptUnrecorded)
    throw ApplicationFailure.nonRetryable(
      `backup ${name} was made by no run Temporal keeps (made by hand, or older than the namespace's retention): ` +
        `only ${store.host}'s own checksum vouches for it; refusing it. If you trust that store's copy, ` +
        'restore it with --accept-unrecorded',
      FailureType.UnprovenBackup,
    );
  return {
    bytes: m.bytes,
    createdAt: m.createdAt,
    tables: Object.keys(m.rowCounts).length,
    sha256: recorded?.sha256 ?? m.sha256,
    recordedBy: recorded?.runId ?? `${store.host} alone (--accept-unrecorded)`,
  };
}

/** Maintenance mode: the inventory's maintenanceFlag file on the lb (exists = 503 page). Says where it is. */
export async function setMaintenance({
  env,
  on,
}: {
  env: string;
  on: boolean;
}): Promise<{ host: string; flag: string }> {
  const e = environment(env);
  const [lb] = hostsWithRole(e, 'lb');
  if (!lb) throw ApplicationFailure.nonRetryable(`${env}: no host has the lb role`, FailureType.BadInventory);
  const flag = requiredVar(e, 'maintenanceFlag');
  await runOn(resolveTarget({ env, host: lb }), on ? ['touch', '--', flag] : ['rm', '-f', '--', flag]);
  return { host: lb, flag };
}

/**
 * Restores backup `name` into a fresh database of this run (dropped first if a retry left one),
 * refusing a dump that does not hash to `sha256`, what checkBackup trusted (absent in runs from before).
 */
export async function restoreIntoFresh({
  env,
  name,
  tag,
  sha256,
}: {
  env: string;
  name: string;
  tag: string;
  sha256?: string;
}): Promise<void> {
  checkBackupName(env, name);
  await restoreStream(dbHost(env), name, workDatabase('restored', tag), sha256);
}

/** The row counts of the restored (or, after the swap, the live) database equal the backup's. */
export async function verifyRows({
  env,
  name,
  tag,
  which,
}: {
  env: string;
  name: string;
  tag: string;
  which: 'restored' | 'live';
}): Promise<{ tables: number; rows: number }> {
  const h = dbHost(env);
  const manifest = await readManifest(backupStore(env), checkBackupName(env, name));
  const database = which === 'live' ? h.database : workDatabase('restored', tag);
  const differences = countDifferences(manifest.rowCounts, await rowCounts(h, database));
  if (differences.length)
    throw ApplicationFailure.nonRetryable(
      `${database} does not match backup ${name}: ${differences.join('; ')}`,
      'RestoreMismatch',
    );
  const counts = Object.values(manifest.rowCounts);
  return { tables: counts.length, rows: counts.reduce((a, b) => a + b, 0) };
}

/** Puts the restored database in place of the application's, which is kept aside as "previous". */
export async function swapIn({ env, tag }: { env: string; tag: string }): Promise<{ changed: boolean }> {
  return swapDatabaseIn(env, workDatabase('restored', tag), workDatabase('previous', tag));
}

/** The undo of swapIn: the previous database back in place; nothing when the swap did not happen. */
export async function swapBack({ env, tag }: { env: string; tag: string }): Promise<{ changed: boolean }> {
  return swapDatabaseBack(env, workDatabase('restored', tag), workDatabase('previous', tag));
}

/** The app answers through the load balancer and reaches its database. */
export async function checkHealthThroughLb({ env }: { env: string }): Promise<{ status: number }> {
  const e = environment(env);
  const [lb] = hostsWithRole(e, 'lb');
  if (!lb) throw ApplicationFailure.nonRetryable(`${env}: no host has the lb role`, FailureType.BadInventory);
  const answer = await probeHealth(resolveTarget({ env, host: lb }), lbHealthUrl(e));
  if (answer.status !== 200 || !databaseOk(answer)) {
    const database = databaseOk(answer) ? 'ok' : 'not ok';
    throw ApplicationFailure.retryable(
      `${env}: ${answer.url} through the load balancer answered ${answer.status} (database: ${database})`,
      FailureType.Unhealthy,
    );
  }
  return { status: answer.status };
}
