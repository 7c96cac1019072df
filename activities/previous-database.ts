// The database a restore kept aside (runbook_previous_<tag>): put back in place of the live one
// (restore-previous), or dropped once the app is healthy without it (drop-previous). Names are
// checked here too, whatever the client checked.
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../common/failure-types';
import { dropWorkDatabase, workDatabase } from './backup';
import { databaseExists, dbHost } from './postgres';
import { swapDatabaseBack, swapDatabaseIn } from './database-swap';

/** The database restore-previous puts back, and where the live one goes meanwhile. */
export interface PutBack {
  env: string;
  /** The tag of the kept database, runbook_previous_<tag>. */
  tag: string;
  /** The tag under which the database it replaces is kept, runbook_previous_<asideTag>. */
  asideTag: string;
}

/** Refuses at once when the kept database is not there (dropped already, or never made here). */
export async function checkPreviousDatabase({ env, tag }: { env: string; tag: string }): Promise<{ database: string }> {
  const h = dbHost(env);
  const database = workDatabase('previous', tag);
  if (!(await databaseExists(h, database))) {
    throw ApplicationFailure.nonRetryable(
      `${env}: there is no database ${database} on the database host (dropped already?)`,
      FailureType.NoSuchDatabase,
    );
  }
  return { database };
}

export async function putPreviousBack({ env, tag, asideTag }: PutBack): Promise<{ changed: boolean }> {
  return swapDatabaseIn(env, workDatabase('previous', tag), workDatabase('previous', asideTag));
}

/** The undo of putPreviousBack. */
export async function undoPutPreviousBack({ env, tag, asideTag }: PutBack): Promise<{ changed: boolean }> {
  return swapDatabaseBack(env, workDatabase('previous', tag), workDatabase('previous', asideTag));
}

/** Drops a kept database; says when it was already gone. Never the application's own. */
export async function dropPreviousDatabase({
  env,
  tag,
}: {
  env: string;
  tag: string;
}): Promise<{ changed: boolean; detail: string }> {
  const h = dbHost(env);
  const database = workDatabase('previous', tag);
  if (database === h.database)
    throw ApplicationFailure.nonRetryable(`${env}: ${database} is the application's database`, FailureType.BadInput);
  if (!(await databaseExists(h, database))) return { changed: false, detail: `${database} was already gone` };
  await dropWorkDatabase(h, database);
  return { changed: true, detail: `dropped ${database}` };
}
