// Backup throughput: our dump (pg_dump -Fc on db, streamed through the worker to the store on
// lb, hashed, row counts in the same snapshot, checksum re-read on the store) against plain
// `pg_dump -Fc` to a local file on db, on a generated database of at least 1 GiB, in one run.
import { backupStore, deleteBackupFiles } from '../activities/backup-store';
import { streamDump } from '../activities/backup';
import { asSuperuser, dbHost, psql } from '../activities/postgres';
import { runOn } from '../activities/ssh/run';
import { backupName } from '../common/backup-names';

const DATABASE = 'runbook_bench';
const MIN_BYTES = 1024 ** 3;
const LOCAL_FILE = '/var/tmp/runbook-bench.dump';

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const value = await fn();
  return [value, (performance.now() - t0) / 1000];
}

export async function backupBench(): Promise<void> {
  const h = dbHost('local');
  const store = backupStore('local');
  const name = backupName('local', new Date());
  const mb = (bytes: number) => (bytes / 1e6).toFixed(0);
  await asSuperuser(h, ['dropdb', '--if-exists', '--force', '--', DATABASE]);
  await asSuperuser(h, ['createdb', '--', DATABASE]);
  try {
    // md5 text compresses about as well as ordinary application rows do.
    const [, generating] = await timed(async () => {
      let size = 0;
      for (let chunk = 0; size < MIN_BYTES; chunk++) {
        await psql(
          h,
          DATABASE,
          `SET synchronous_commit = off;
          CREATE TABLE IF NOT EXISTS events (id bigint, a text, b text, at timestamptz, n int);
          INSERT INTO events SELECT g, md5(g::text), md5((g * 7)::text), now() - g * interval '1 second', g % 1000
            FROM generate_series(${chunk * 2_000_000 + 1}, ${(chunk + 1) * 2_000_000}) g;
          CHECKPOINT;\n`,
        );
        size = Number((await psql(h, DATABASE, 'SELECT pg_database_size(current_database());\n')).trim());
      }
      return size;
    });
    const size = Number((await psql(h, DATABASE, 'SELECT pg_database_size(current_database());\n')).trim());
    console.log(
      `backup throughput on a generated database of ${mb(size)} MB (generated in ${generating.toFixed(0)} s)`,
    );

    const [, local] = await timed(() =>
      runOn(h.target, [...h.admin, 'pg_dump', '-Fc', `--file=${LOCAL_FILE}`, '--', DATABASE], {
        cwd: '/',
        timeoutMs: 3_600_000,
      }),
    );
    const localBytes = Number((await runOn(h.target, ['stat', '-c', '%s', '--', LOCAL_FILE])).stdout.trim());
    await runOn(h.target, ['rm', '-f', '--', LOCAL_FILE]);

    const [made, ours] = await timed(() => streamDump(h, DATABASE, name));
    const baseline = size / local;
    const streamed = size / ours;
    console.log(
      `  pg_dump -Fc to a local file on db (baseline, same run): ${local.toFixed(1)} s, ` +
        `${mb(baseline)} MB/s of database, ${mb(localBytes)} MB dump`,
    );
    console.log(
      `  backup streamed db → worker → lb, sha256, row counts:  ${ours.toFixed(1)} s, ` +
        `${mb(streamed)} MB/s of database, ${mb(made.bytes)} MB dump`,
    );
    console.log(`  our throughput / baseline's: ${(streamed / baseline).toFixed(2)}x  (target ≥ 0.8x)`);
  } finally {
    await deleteBackupFiles(store, name);
    await runOn(h.target, ['rm', '-f', '--', LOCAL_FILE]);
    await asSuperuser(h, ['dropdb', '--if-exists', '--force', '--', DATABASE]);
  }
}
