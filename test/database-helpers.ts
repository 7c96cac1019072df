// What the backup and restore tests read on the real hosts: the app database's content (row
// counts and an md5 of each table's rows in order), the store's files, the maintenance flag.
import { runOn } from '../activities/ssh/run';
import { resolveTarget } from '../activities/ssh/target';

export const STORE_DIR = '/var/backups/runbook/local';

/** Runs SQL on db as the superuser (stdin, so psql's backslash commands work). */
export async function sql(text: string, database = 'app'): Promise<string> {
  const target = resolveTarget({ env: 'local', host: 'db' });
  return (
    await runOn(
      target,
      ['runuser', '-u', 'postgres', '--', 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', database],
      { cwd: '/', stdin: text, timeoutMs: 300_000 },
    )
  ).stdout;
}

export async function onHost(
  host: string,
  argv: string[],
  okExitCodes = [0],
): Promise<{ stdout: string; exitCode: number }> {
  return runOn(resolveTarget({ env: 'local', host }), argv, { okExitCodes, timeoutMs: 120_000 });
}

/** "schema.table" → "rows md5(rows in order)", for every table of the database. */
export async function content(database = 'app'): Promise<Record<string, string>> {
  const out = await sql(
    `SELECT format('SELECT %L || E''\\t'' || count(*) || '' '' || ` +
      `md5(coalesce(string_agg(t::text, E''\\n'' ORDER BY t::text), '''')) FROM %I.%I t',
      n.nspname || '.' || c.relname, n.nspname, c.relname)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
    ORDER BY 1 \\gexec
`,
    database,
  );
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t') as [string, string]),
  );
}

/** Databases a backup or restore made and should have dropped. */
export async function leftoverDatabases(): Promise<string[]> {
  return (await sql("SELECT datname FROM pg_database WHERE datname LIKE 'runbook\\_%' ORDER BY 1;", 'postgres'))
    .trim()
    .split('\n')
    .filter(Boolean);
}

export async function storeFiles(dir = STORE_DIR): Promise<string[]> {
  const out = await onHost('lb', ['sh', '-c', '[ ! -d "$1" ] || ls -A "$1"', 'ls', dir]);
  return out.stdout.split('\n').filter(Boolean).sort();
}

/** The newest complete backup of the store (by name, which sorts by time within an env). */
export async function newestBackup(prefix = 'local-', dir = STORE_DIR): Promise<string | undefined> {
  return (await storeFiles(dir))
    .filter((f) => f.startsWith(prefix) && f.endsWith('.sha256') && !f.includes('-safety'))
    .map((f) => f.slice(0, -7))
    .pop();
}

export async function maintenanceOn(): Promise<boolean> {
  return (await onHost('lb', ['test', '-e', '/var/www/maintenance/enabled'], [0, 1])).exitCode === 0;
}

export async function healthThroughLb(): Promise<number> {
  return (await fetch('http://10.213.0.30/health', { signal: AbortSignal.timeout(5000) })).status;
}

/** A table big enough that a dump or a restore takes seconds, so a test can act meanwhile. */
export async function addBulkTable(rows = 2_000_000): Promise<void> {
  await sql(
    `DROP TABLE IF EXISTS bulk; ` +
      `CREATE TABLE bulk AS SELECT g AS id, md5(g::text) AS a, md5((g * 7)::text) AS b ` +
      `FROM generate_series(1, ${rows}) g; ALTER TABLE bulk OWNER TO app;`,
  );
}

export async function dropBulkTable(): Promise<void> {
  await sql('DROP TABLE IF EXISTS bulk;');
}
