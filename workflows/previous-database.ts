// The database a restore keeps aside when it fails after its point of no return
// (runbook_previous_<tag>): restore-previous puts it back in place of the live one, and
// drop-previous drops it once the app is healthy without it. Each is one command, which the
// restore's record prints for the operator.
//
// restore-previous: check the kept database is there; approval on protected environments; a
// safety backup of the live database as it is; maintenance on; swap the kept one in (the live
// one is kept aside under a new runbook_previous_<tag>, one rename transaction): the point of
// no return. Then maintenance off, the app checked through the load balancer, and the replaced
// database dropped (the safety backup holds it). A failure after the swap keeps the put-back
// and names the replaced database, with the same two commands, like restore.
import { uuid4 } from '@temporalio/workflow';
import type * as activities from '../activities';
import { backupName, previousDatabaseTag } from '../common/backup-names';
import type { RunInput, RunResult } from '../common/shared';
import type { ParamsOf } from '../common/params';
import type { PREVIOUS_DATABASE_PARAMS } from '../common/runbook-params';
import { PREVIOUS_DATABASE_STEPS as S } from '../common/step-names';
import { backupStoreText, hostWithRole } from '../common/plan';
import { LONG_STEP, runbook, stepActivities, undoActivities } from './kernel';

export type PreviousDatabaseParams = ParamsOf<typeof PREVIOUS_DATABASE_PARAMS>;

const { dumpToStore } = stepActivities<typeof activities>(LONG_STEP);
const {
  restorePolicy,
  checkPreviousDatabase,
  setMaintenance,
  putPreviousBack,
  checkHealthThroughLb,
  dropDatabase,
  dropPreviousDatabase,
} = stepActivities<typeof activities>({ startToCloseTimeout: '30 minutes' });
const undo = undoActivities<typeof activities>();

/** What the record tells a person when a restore (or a put-back) fails after its swap. */
export function previousDatabaseTodo(
  env: string,
  previous: string,
  maintenance?: { host: string; flag: string },
): string[] {
  return [
    ...(maintenance
      ? [`the maintenance page is still on: remove ${maintenance.flag} on ${maintenance.host} once the app is healthy`]
      : []),
    `to put the previous database back: runbook start restore-previous --env ${env} --database ${previous}`,
    `once the app is healthy on the live database, drop the previous one: ` +
      `runbook start drop-previous --env ${env} --database ${previous}`,
  ];
}

export async function restorePrevious(input: RunInput<PreviousDatabaseParams>): Promise<RunResult> {
  const { env } = input;
  const database = input.params.database;
  const tag = previousDatabaseTag(database) ?? '';
  const asideTag = uuid4().replace(/-/g, '').slice(0, 12);
  const aside = `runbook_previous_${asideTag}`;
  return runbook(input, async (rb) => {
    await rb.step(S.check(database), {
      run: () => checkPreviousDatabase({ env, tag }),
      reads: true,
      plan: (c) => ({ where: hostWithRole(c, 'db'), does: 'it exists, or refuse' }),
    });
    const policy = await rb.step(S.policy, {
      run: () => restorePolicy({ env }),
      reads: true,
      plan: (c) => ({ where: 'worker', does: `the inventory says ${env} is ${c.protected ? '' : 'not '}protected` }),
    });
    if (policy.protected) await rb.approval(S.gate);

    const safety = backupName(env, new Date(), 'safety');
    await rb.step(S.safetyBackup(safety), {
      run: () => dumpToStore({ env, name: safety }),
      plan: (c) => ({
        where: `${hostWithRole(c, 'db')} → worker → ${backupStoreText(c)}`,
        does: `pg_dump --format=custom ${String(c.vars.databaseName)}`,
      }),
    });
    const maintenance = await rb.step(S.maintenanceOn, {
      run: () => setMaintenance({ env, on: true }),
      undo: () => undo.setMaintenance({ env, on: false }),
      plan: (c) => ({
        where: hostWithRole(c, 'lb'),
        does: `touch ${String(c.vars.maintenanceFlag)}`,
        undo: 'remove it',
      }),
    });
    await rb.step(S.swapIn(database), {
      run: () => putPreviousBack({ env, tag, asideTag }),
      undo: () => undo.undoPutPreviousBack({ env, tag, asideTag }),
      plan: (c) => ({
        where: hostWithRole(c, 'db'),
        does:
          `rename ${String(c.vars.databaseName)} aside (${aside}) and ${database} to ` +
          `${String(c.vars.databaseName)}, in one transaction`,
        undo: 'swap back',
      }),
    });
    rb.settle(`${database} is live again; the database it replaced is kept as ${aside}`, (failed) =>
      previousDatabaseTodo(env, aside, failed === S.maintenanceOff ? maintenance : undefined),
    );

    await rb.step(S.maintenanceOff, {
      run: () => setMaintenance({ env, on: false }),
      plan: (c) => ({ where: hostWithRole(c, 'lb'), does: `rm ${String(c.vars.maintenanceFlag)}` }),
    });
    await rb.step(S.checkThroughLb, {
      run: () => checkHealthThroughLb({ env }),
      plan: (c) => ({ where: hostWithRole(c, 'lb'), does: `GET ${c.vars.healthPath} answers 200 with its database` }),
    });
    await rb.step(S.dropReplaced(aside), {
      run: () => dropDatabase({ env, which: 'previous', tag: asideTag }),
      skippable: true,
      why: 'the put-back database serves; the replaced one only takes space until dropped by hand',
      plan: (c) => ({ where: hostWithRole(c, 'db'), does: 'dropdb (its content is in the safety backup)' }),
    });
  });
}

export async function dropPrevious(input: RunInput<PreviousDatabaseParams>): Promise<RunResult> {
  const { env } = input;
  const database = input.params.database;
  const tag = previousDatabaseTag(database) ?? '';
  return runbook(input, async (rb) => {
    await rb.gate(S.dropGate);
    await rb.step(S.drop(database), {
      run: () => dropPreviousDatabase({ env, tag }),
      plan: (c) => ({ where: hostWithRole(c, 'db'), does: 'dropdb (nothing when it is already gone)' }),
    });
  });
}
