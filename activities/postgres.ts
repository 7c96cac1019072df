// The database host as its superuser: psql with values passed as psql variables (never pasted
// into SQL), exact row counts per table, and a session that holds one snapshot open so a dump
// and the counts it is checked against see the same data.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Environment } from '../src/inventory';
import { environment, hostsWithRole } from './env-vars';
import { requiredVar } from '../src/vars';
import { runOn } from './ssh/run';
import { spawnOn, type RemoteProcess } from './ssh/stream';
import { resolveTarget, type SshTarget } from './ssh/target';
import { FailureType } from '../common/failure-types';

/** Database names we create or are told: plain identifiers, nothing to quote. */
const DB_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export interface DbHost {
  e: Environment;
  env: string;
  target: SshTarget;
  /** The prefix that runs a command as the superuser (inventory var dbAdmin). */
  admin: string[];
  /** The application's database (inventory var databaseName). */
  database: string;
}

export function dbHost(env: string): DbHost {
  const e = environment(env);
  const [db] = hostsWithRole(e, 'db');
  if (!db) throw ApplicationFailure.nonRetryable(`${env}: no host has the db role`, FailureType.BadInventory);
  const database = requiredVar(e, 'databaseName');
  checkDbName(database);
  return { e, env, target: resolveTarget({ env, host: db }), admin: requiredVar(e, 'dbAdmin'), database };
}

export function checkDbName(name: string): string {
  if (!DB_NAME.test(name))
    throw ApplicationFailure.nonRetryable(`unsafe database name ${JSON.stringify(name)}`, FailureType.BadInput);
  return name;
}

function psqlArgv(h: DbHost, database: string, vars: Record<string, string>, lineBuffered = false): string[] {
  // A session read while it runs needs each line as it is printed: psql's stdout to a pipe is
  // block-buffered, and stdbuf (coreutils) makes it line-buffered.
  return [
    ...h.admin,
    ...(lineBuffered ? ['stdbuf', '-oL'] : []),
    'psql',
    '-X',
    '-q',
    '-A',
    '-t',
    '-v',
    'ON_ERROR_STOP=1',
    ...Object.entries(vars).flatMap(([k, v]) => ['-v', `${k}=${v}`]),
    '-d',
    database,
  ];
}

/** Runs `sql` (read from stdin, so `:"name"` and `:'value'` interpolate the variables safely). */
export async function psql(
  h: DbHost,
  database: string,
  sql: string,
  vars: Record<string, string> = {},
  timeoutMs = 600_000,
): Promise<string> {
  // cd /: postgres may not enter root's home directory.
  return (await runOn(h.target, psqlArgv(h, database, vars), { cwd: '/', stdin: sql, timeoutMs })).stdout;
}

/** Runs a client program (createdb, dropdb, ...) as the superuser. */
export async function asSuperuser(h: DbHost, argv: string[], timeoutMs = 600_000): Promise<string> {
  return (await runOn(h.target, [...h.admin, ...argv], { cwd: '/', timeoutMs })).stdout;
}

export async function databaseExists(h: DbHost, name: string): Promise<boolean> {
  return (
    (
      await psql(h, 'postgres', "SELECT 1 FROM pg_database WHERE datname = :'name';\n", { name: checkDbName(name) })
    ).trim() === '1'
  );
}

export type RowCounts = Record<string, number>;

// count(*) of every user table, one line "schema.table<TAB>count" each; \gexec runs each query.
const COUNT_ROWS = `SELECT format('SELECT %L || E''\\t'' || count(*) FROM %I.%I',
    n.nspname || '.' || c.relname, n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
  ORDER BY n.nspname, c.relname \\gexec
`;

function parseCounts(lines: string[]): RowCounts {
  const counts: RowCounts = {};
  for (const line of lines) {
    const i = line.lastIndexOf('\t');
    if (i > 0) counts[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return counts;
}

/** Exact row counts of every table of `database` (count(*), not the planner's estimates). */
export async function rowCounts(h: DbHost, database: string): Promise<RowCounts> {
  return parseCounts((await psql(h, checkDbName(database), COUNT_ROWS)).split('\n'));
}

/** The tables whose counts differ, as "table: expected N, found M"; empty when all match. */
export function countDifferences(expected: RowCounts, found: RowCounts): string[] {
  const tables = [...new Set([...Object.keys(expected), ...Object.keys(found)])].sort();
  return tables
    .filter((t) => expected[t] !== found[t])
    .map((t) => `${t}: expected ${expected[t] ?? 'no table'}, found ${found[t] ?? 'no table'}`);
}

/**
 * A read-only transaction kept open on the database host: its snapshot can be handed to
 * pg_dump, and it counts every table's rows in that snapshot while the dump runs.
 */
export interface SnapshotSession {
  snapshot: string;
  /** The exact row counts, in the snapshot. */
  counts: Promise<RowCounts>;
  /** Ends the transaction; safe to call twice. */
  close(): Promise<void>;
}

const DONE = 'runbook: counted';
const SNAPSHOT_LINE = /^snapshot (\S+)\n/m;

export async function openSnapshot(h: DbHost, database: string): Promise<SnapshotSession> {
  const session: RemoteProcess = await spawnOn({
    target: h.target,
    argv: psqlArgv(h, checkDbName(database), {}, true),
    cwd: '/',
  });
  session.channel.on('error', () => undefined);
  let out = '';
  const seen = (what: RegExp | string) =>
    new Promise<void>((resolve) => {
      const check = () => ((typeof what === 'string' ? out.includes(what) : what.test(out)) ? resolve() : undefined);
      session.channel.on('data', check);
      check();
    });
  session.channel.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const snapshotSeen = seen(SNAPSHOT_LINE);
  const countedSeen = seen(`${DONE}\n`);
  session.channel.write(
    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSELECT 'snapshot ' || pg_export_snapshot();\n" +
      COUNT_ROWS +
      `SELECT '${DONE}';\n`,
  );
  const ended = session.exited.then((code) => {
    session.check(code);
    // psql ended before it was done: ON_ERROR_STOP made it quit.
    throw ApplicationFailure.retryable(
      `${h.target.name}: psql ended before counting rows: ${session.stderr().trim()}`,
      FailureType.CommandFailed,
    );
  });
  ended.catch(() => undefined);
  const within = (ms: number, what: string) =>
    new Promise<never>((_, reject) =>
      setTimeout(
        () =>
          reject(
            ApplicationFailure.retryable(
              `${h.target.name}: ${what} took over ${ms / 60_000} minutes`,
              FailureType.CommandTimedOut,
            ),
          ),
        ms,
      ).unref(),
    );
  try {
    await Promise.race([snapshotSeen, ended, within(60_000, 'exporting a snapshot')]);
  } catch (err) {
    await session.kill();
    throw err;
  }
  const snapshot = SNAPSHOT_LINE.exec(out)![1];
  if (!/^[0-9A-F-]+$/i.test(snapshot)) {
    await session.kill();
    throw ApplicationFailure.retryable(
      `${h.target.name}: unexpected snapshot id from psql: ${JSON.stringify(snapshot)}`,
      FailureType.CommandFailed,
    );
  }
  // Counting a large database takes a while: the activity says it is alive meanwhile.
  const heartbeat = setInterval(() => activityHeartbeat({ counting: database }), 1_000);
  const counts = Promise.race([countedSeen, ended, within(3_600_000, 'counting rows')])
    .then(() => parseCounts(out.split('\n').filter((l) => !l.startsWith('snapshot ') && l !== DONE)))
    .finally(() => clearInterval(heartbeat));
  counts.catch(() => undefined);
  let closed = false;
  return {
    snapshot,
    counts,
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      session.channel.end('COMMIT;\n');
      const code = await Promise.race([
        session.exited,
        new Promise<null>((r) => setTimeout(() => r(null), 30_000).unref()),
      ]);
      if (code !== 0) await session.kill();
    },
  };
}

function activityHeartbeat(details: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // Not in an activity (the bench).
  }
}
