// Backups: pg_dump streamed from the database host to the backup store through the worker
// (nothing staged on the database host), checksummed as it passes, row counts taken in the
// dump's own snapshot; verified by restoring it into a scratch database; old ones pruned.
import { ApplicationFailure } from '@temporalio/common';
import { parseBackupName, retained } from '../common/backup-names';
import {
  backupFiles,
  backupStore,
  checkBackupName,
  completeBackups,
  deleteBackupFiles,
  finishBackup,
  readManifest,
  storedSha256,
  storeFiles,
  type Manifest,
} from './backup-store';
import {
  asSuperuser,
  checkDbName,
  countDifferences,
  dbHost,
  openSnapshot,
  psql,
  rowCounts,
  type DbHost,
} from './postgres';
import { environment } from './env-vars';
import { runOn } from './ssh/run';
import { pipeBetween } from './ssh/stream';
import { FailureType } from '../common/failure-types';

const DUMP_TIMEOUT_MS = 6 * 3_600_000;

/** What a finished dump reports. */
export interface BackupMade {
  name: string;
  bytes: number;
  sha256: string;
  tables: number;
  rows: number;
  /** False when the backup was already complete (a retried step), so nothing was dumped. */
  dumped: boolean;
}

function summary(m: Manifest, dumped: boolean): BackupMade {
  const counts = Object.values(m.rowCounts);
  return {
    name: m.name,
    bytes: m.bytes,
    sha256: m.sha256,
    tables: counts.length,
    rows: counts.reduce((a, b) => a + b, 0),
    dumped,
  };
}

/**
 * Streams `pg_dump --format=custom` of `database` on the db host into the store as `name`.
 * The row counts are taken in the same snapshot as the dump. A retry after a lost worker
 * starts again from the beginning (the partial file is overwritten); a retry after success
 * finds the complete backup and does nothing.
 */
export async function streamDump(
  h: DbHost,
  database: string,
  name: string,
  onProgress?: (bytes: number) => void,
): Promise<BackupMade> {
  const store = backupStore(h.env);
  const existing = await readManifest(store, name).catch(() => undefined);
  if (existing) return summary(existing, false);
  const files = backupFiles(store, name);
  await runOn(store.target, ['install', '-d', '-m', '0700', '--', store.dir]);
  const createdAt = new Date().toISOString();
  const session = await openSnapshot(h, database);
  let piped;
  let counts;
  try {
    // psql counts rows in the snapshot while pg_dump dumps it.
    const dump = pipeBetween(
      {
        target: h.target,
        argv: [...h.admin, 'pg_dump', '--format=custom', `--snapshot=${session.snapshot}`, '--', checkDbName(database)],
        cwd: '/',
      },
      { target: store.target, argv: ['sh', '-c', 'umask 077; exec cat > "$1"', 'store', files.partialDump] },
      { timeoutMs: DUMP_TIMEOUT_MS, onProgress },
    );
    [piped, counts] = await Promise.all([dump, session.counts]);
  } finally {
    await session.close();
  }
  // What landed on the store is what passed through the worker, or the backup is not kept.
  const written = await storedSha256(store, files.partialDump);
  if (written !== piped.sha256) {
    throw ApplicationFailure.retryable(
      `${store.host}: ${files.partialDump} has sha256 ${written} but ${piped.sha256} was sent`,
      FailureType.ChecksumMismatch,
    );
  }
  const manifest: Manifest = {
    name,
    env: h.env,
    database,
    createdAt,
    bytes: piped.bytes,
    sha256: piped.sha256,
    rowCounts: counts,
  };
  await finishBackup(store, manifest);
  return summary(manifest, true);
}

/** Dumps the environment's database to its backup store as `name`; heartbeats the bytes so far. */
export async function dumpToStore({ env, name }: { env: string; name: string }): Promise<BackupMade> {
  checkBackupName(env, name);
  const h = dbHost(env);
  return streamDump(h, h.database, name);
}

/** Deletes backup `name` from the store: the undo of a dump that did not end verified. */
export async function removeBackup({ env, name }: { env: string; name: string }): Promise<void> {
  await deleteBackupFiles(backupStore(env), checkBackupName(env, name));
}

/** Databases the runbooks create, by purpose and a per-run tag; never the application's. */
export type WorkDatabase = 'scratch' | 'restored' | 'previous';
const TAG = /^[a-f0-9]{12}$/;

export function workDatabase(which: WorkDatabase, tag: string): string {
  if (!TAG.test(tag))
    throw ApplicationFailure.nonRetryable(`unsafe database tag ${JSON.stringify(tag)}`, FailureType.BadInput);
  if (!['scratch', 'restored', 'previous'].includes(which))
    throw ApplicationFailure.nonRetryable(`unknown work database ${JSON.stringify(which)}`, FailureType.BadInput);
  return `runbook_${which}_${tag}`;
}

export async function dropWorkDatabase(h: DbHost, name: string): Promise<void> {
  await asSuperuser(h, ['dropdb', '--if-exists', '--force', '--', checkDbName(name)]);
}

/** Drops a database the runbook made (a scratch, restored or previous one); nothing when it is gone. */
export async function dropDatabase({
  env,
  which,
  tag,
}: {
  env: string;
  which: WorkDatabase;
  tag: string;
}): Promise<void> {
  await dropWorkDatabase(dbHost(env), workDatabase(which, tag));
}

// Where a dump waits on the db host between the store and pg_restore: the superuser's own
// (made and written as that user, never by root), removed once restored.
const STAGE_DIR = '/var/lib/postgresql/runbook-restore';

/**
 * Restores backup `name` from the store into the fresh database `into` (created here, empty,
 * like the application's: same owner, encoding and locale). The dump is streamed through the
 * worker into a file on the db host, and only when the bytes that arrived hash to `sha256`
 * (the checksum a restore trusts; the manifest's when none is given) does pg_restore read it:
 * pg_restore runs what a dump says as the superuser, so it never reads a dump the store could
 * have swapped after the checksum was checked. Needs room for one dump on the db host.
 */
export async function restoreStream(h: DbHost, name: string, into: string, sha256?: string): Promise<Manifest> {
  const store = backupStore(h.env);
  const manifest = await readManifest(store, name);
  const expected = sha256 ?? manifest.sha256;
  const [owner, encoding, collate, ctype] = await sourceProperties(h);
  await dropWorkDatabase(h, into);
  await asSuperuser(h, [
    'createdb',
    '--template=template0',
    `--owner=${owner}`,
    `--encoding=${encoding}`,
    `--lc-collate=${collate}`,
    `--lc-ctype=${ctype}`,
    '--',
    checkDbName(into),
  ]);
  const staged = `${STAGE_DIR}/${checkDbName(into)}.dump`;
  await asSuperuser(h, ['mkdir', '-p', '-m', '0700', '--', STAGE_DIR]);
  try {
    const piped = await pipeBetween(
      { target: store.target, argv: ['cat', '--', backupFiles(store, name).dump] },
      { target: h.target, argv: [...h.admin, 'sh', '-c', 'umask 077; exec cat > "$1"', 'stage', staged], cwd: '/' },
      { timeoutMs: DUMP_TIMEOUT_MS },
    );
    if (piped.sha256 !== expected) {
      throw ApplicationFailure.nonRetryable(
        `backup ${name} is corrupted: it streamed with sha256 ${piped.sha256}, recorded ${expected}; not restored`,
        FailureType.CorruptBackup,
      );
    }
    await asSuperuser(
      h,
      ['pg_restore', '--exit-on-error', '--no-password', `--dbname=${into}`, '--', staged],
      DUMP_TIMEOUT_MS,
    );
  } finally {
    await asSuperuser(h, ['rm', '-f', '--', staged]);
  }
  return manifest;
}

/** The application database's owner, encoding and locale, which a database replacing it keeps. */
async function sourceProperties(h: DbHost): Promise<string[]> {
  const out = (
    await psql(
      h,
      'postgres',
      'SELECT concat_ws(chr(9), pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datcollate, datctype) ' +
        "FROM pg_database WHERE datname = :'db';\n",
      { db: h.database },
    )
  ).trim();
  const fields = out.split('\t');
  if (fields.length !== 4)
    throw ApplicationFailure.nonRetryable(
      `${h.env}: cannot read the properties of database ${h.database}`,
      FailureType.BadInventory,
    );
  return fields;
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
