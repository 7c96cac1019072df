// Restores: pick and check a backup, maintenance mode on the load balancer, restore into a
// fresh database, verify it, then swap it in by renaming. The application's database is not
// touched until the swap, which is one transaction; its undo swaps the previous one back.
import { ApplicationFailure } from '@temporalio/common';
import { BACKUP_CHOICE, parseBackupName } from '../common/backup-names';
import { backupStore, checkBackupName, completeBackups, readManifest, verifyStoredChecksum } from './backup-store';
import { restoreStream, workDatabase } from './backup';
import { environment, hostsWithRole, stringVar } from './env-vars';
import { countDifferences, databaseExists, dbHost, psql, rowCounts } from './postgres';
import { databaseOk, lbHealthUrl, probeHealth } from './health-probe';
import { runOn } from './ssh/run';
import { resolveTarget } from './ssh/target';
import { FailureType } from '../common/failure-types';

/** Whether the environment is marked `protected:` (a restore there waits for approval). */
export async function restorePolicy({ env }: { env: string }): Promise<{ protected: boolean }> {
  return { protected: environment(env).protected };
}

/** `latest` (the newest complete scheduled backup) or a named one, which must exist. */
export async function pickBackup({ env, choice }: { env: string; choice: string }): Promise<string> {
  if (!BACKUP_CHOICE.test(choice)) throw ApplicationFailure.nonRetryable(`${JSON.stringify(choice)} is not "latest" or a backup name`, FailureType.BadInput);
  const store = backupStore(env);
  if (choice === 'latest') {
    const latest = (await completeBackups(store, env)).filter((n) => !parseBackupName(n)!.safety).pop();
    if (!latest) throw ApplicationFailure.nonRetryable(`${env} has no complete backup in ${store.host}:${store.dir}`, FailureType.NoSuchBackup);
    return latest;
  }
  await readManifest(store, checkBackupName(env, choice));
  return choice;
}

/** The backup's checksum, recomputed on the store, before anything is touched. */
export async function checkBackup({ env, name }: { env: string; name: string }): Promise<{ bytes: number; createdAt: string; tables: number }> {
  const m = await verifyStoredChecksum(backupStore(env), checkBackupName(env, name));
  return { bytes: m.bytes, createdAt: m.createdAt, tables: Object.keys(m.rowCounts).length };
}

/** Maintenance mode: the inventory's maintenanceFlag file on the lb (exists = 503 page). */
export async function setMaintenance({ env, on }: { env: string; on: boolean }): Promise<void> {
  const e = environment(env);
  const [lb] = hostsWithRole(e, 'lb');
  if (!lb) throw ApplicationFailure.nonRetryable(`${env}: no host has the lb role`, FailureType.BadInventory);
  const flag = stringVar(e, 'maintenanceFlag');
  await runOn(resolveTarget({ env, host: lb }), on ? ['touch', '--', flag] : ['rm', '-f', '--', flag]);
}

/** Restores backup `name` into a fresh database of this run (dropped first if a retry left one). */
export async function restoreIntoFresh({ env, name, tag }: { env: string; name: string; tag: string }): Promise<void> {
  checkBackupName(env, name);
  await restoreStream(dbHost(env), name, workDatabase('restored', tag));
}

/** The row counts of the restored (or, after the swap, the live) database equal the backup's. */
export async function verifyRows({ env, name, tag, which }: { env: string; name: string; tag: string; which: 'restored' | 'live' }): Promise<{ tables: number; rows: number }> {
  const h = dbHost(env);
  const manifest = await readManifest(backupStore(env), checkBackupName(env, name));
  const database = which === 'live' ? h.database : workDatabase('restored', tag);
  const differences = countDifferences(manifest.rowCounts, await rowCounts(h, database));
  if (differences.length) throw ApplicationFailure.nonRetryable(`${database} does not match backup ${name}: ${differences.join('; ')}`, 'RestoreMismatch');
  const counts = Object.values(manifest.rowCounts);
  return { tables: counts.length, rows: counts.reduce((a, b) => a + b, 0) };
}

// Closes `from` to new sessions, ends the ones it has (the app connects per request), then
// renames in one transaction, so the name always points at one whole database.
const SWAP = `ALTER DATABASE :"from" WITH ALLOW_CONNECTIONS false;
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :'from' AND pid <> pg_backend_pid();
BEGIN;
ALTER DATABASE :"from" RENAME TO :"aside";
ALTER DATABASE :"into" RENAME TO :"from";
COMMIT;
ALTER DATABASE :"from" WITH ALLOW_CONNECTIONS true;
`;
const REOPEN = 'ALTER DATABASE :"from" WITH ALLOW_CONNECTIONS true;\n';

async function swap(env: string, vars: { from: string; into: string; aside: string }): Promise<void> {
  const h = dbHost(env);
  try {
    await psql(h, 'postgres', SWAP, vars);
  } catch (err) {
    // Whatever failed, the application's database takes connections again.
    await psql(h, 'postgres', REOPEN, vars).catch(() => undefined);
    throw err;
  }
}

/** Puts the restored database in place of the application's, which is kept aside as "previous". */
export async function swapIn({ env, tag }: { env: string; tag: string }): Promise<{ changed: boolean }> {
  const h = dbHost(env);
  const restored = workDatabase('restored', tag);
  const previous = workDatabase('previous', tag);
  const [hasRestored, hasPrevious] = [await databaseExists(h, restored), await databaseExists(h, previous)];
  if (hasPrevious && !hasRestored) return { changed: false }; // a retry: already swapped
  if (!hasRestored || hasPrevious) throw ApplicationFailure.nonRetryable(`${env}: cannot swap: ${restored} ${hasRestored ? 'exists' : 'is missing'}, ${previous} ${hasPrevious ? 'exists' : 'is missing'}`, FailureType.UnexpectedState);
  await swap(env, { from: h.database, into: restored, aside: previous });
  return { changed: true };
}

/** The undo of swapIn: the previous database back in place; nothing when the swap did not happen. */
export async function swapBack({ env, tag }: { env: string; tag: string }): Promise<{ changed: boolean }> {
  const h = dbHost(env);
  const restored = workDatabase('restored', tag);
  const previous = workDatabase('previous', tag);
  if (!(await databaseExists(h, previous))) {
    // Not swapped; a swap that failed half-way may still have closed the database.
    await psql(h, 'postgres', REOPEN, { from: h.database });
    return { changed: false };
  }
  if (await databaseExists(h, restored)) throw ApplicationFailure.nonRetryable(`${env}: cannot swap back: both ${restored} and ${previous} exist`, FailureType.UnexpectedState);
  await swap(env, { from: h.database, into: previous, aside: restored });
  return { changed: true };
}

/** The app answers through the load balancer and reaches its database. */
export async function checkHealthThroughLb({ env }: { env: string }): Promise<{ status: number }> {
  const e = environment(env);
  const [lb] = hostsWithRole(e, 'lb');
  if (!lb) throw ApplicationFailure.nonRetryable(`${env}: no host has the lb role`, FailureType.BadInventory);
  const answer = await probeHealth(resolveTarget({ env, host: lb }), lbHealthUrl(e));
  if (answer.status !== 200 || !databaseOk(answer)) {
    const database = databaseOk(answer) ? 'ok' : 'not ok';
    throw ApplicationFailure.retryable(`${env}: ${answer.url} through the load balancer answered ${answer.status} (database: ${database})`, FailureType.Unhealthy);
  }
  return { status: answer.status };
}
