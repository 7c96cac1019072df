// Swapping a database in under the application database's name, and back: one rename
// transaction, so the name always points at one whole database. Used by restore and
// restore-previous; not an activity itself (activities/index.ts does not export it).
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../common/failure-types';
import { databaseExists, dbHost, psql } from './postgres';

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

/**
 * Database `incoming` takes the application database's name, which is renamed to `aside`. Safe
 * to repeat: once `incoming` is gone and `aside` exists, it is done.
 */
export async function swapDatabaseIn(env: string, incoming: string, aside: string): Promise<{ changed: boolean }> {
  const h = dbHost(env);
  const [hasIncoming, hasAside] = [await databaseExists(h, incoming), await databaseExists(h, aside)];
  if (hasAside && !hasIncoming) return { changed: false }; // a retry: already swapped
  if (!hasIncoming || hasAside)
    throw ApplicationFailure.nonRetryable(
      `${env}: cannot swap: ${incoming} ${hasIncoming ? 'exists' : 'is missing'}, ` +
        `${aside} ${hasAside ? 'exists' : 'is missing'}`,
      FailureType.UnexpectedState,
    );
  await swap(env, { from: h.database, into: incoming, aside });
  return { changed: true };
}

/** The undo of swapDatabaseIn: `aside` takes the name back and the live one becomes `incoming` again. */
export async function swapDatabaseBack(env: string, incoming: string, aside: string): Promise<{ changed: boolean }> {
  const h = dbHost(env);
  if (!(await databaseExists(h, aside))) {
    // Not swapped; a swap that failed half-way may still have closed the database.
    await psql(h, 'postgres', REOPEN, { from: h.database });
    return { changed: false };
  }
  if (await databaseExists(h, incoming))
    throw ApplicationFailure.nonRetryable(
      `${env}: cannot swap back: both ${incoming} and ${aside} exist`,
      FailureType.UnexpectedState,
    );
  await swap(env, { from: h.database, into: aside, aside: incoming });
  return { changed: true };
}
