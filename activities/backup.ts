// Backups: pg_dump streamed from the database host to the backup store through the worker
// (nothing staged on the database host), checksummed as it passes, row counts taken in the
// dump's own snapshot; restored into a fresh database with its checksum checked. The backup
// runbook's verification and retention are its own (runbooks/backup/activities.ts).
import { ApplicationFailure } from '@temporalio/common';
import {
  backupFiles,
  backupStore,
  checkBackupName,
  finishBackup,
  readManifest,
  storedSha256,
  type Manifest,
} from './backup-store';
import { asSuperuser, checkDbName, dbHost, openSnapshot, psql, type DbHost } from './postgres';
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
