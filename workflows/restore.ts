// restore: pick a backup (latest or named) and check its checksum before anything is touched;
// approval on protected environments; a safety backup of the database as it is; maintenance
// page on; restore into a fresh database and verify its row counts; swap it in (one rename
// transaction) and verify again: the point of no return. Then maintenance off, the app checked
// through the load balancer, and the previous database dropped (the safety backup holds it).
// Until the swap the application's database is untouched, and a failure up to the verified
// swap puts everything back (the swap's undo renames the previous database back). A failure
// after it (the app check, say) KEEPS the restore: the run ends SETTLED_THEN_FAILED, the
// previous database stays as runbook_previous_<tag> (only a run that completes drops it), and
// the record gives the one command that puts it back (the restore-previous runbook) and the
// one that drops it once the app is healthy (drop-previous). Why keep rather than swap back:
// the restored data is verified and was asked for; an app that fails its check on it is
// usually failing for another reason, and swapping back would silently undo the restore.
import { uuid4 } from '@temporalio/workflow';
import type * as activities from '../activities';
import { backupName } from '../common/backup-names';
import type { RunInput, RunResult } from '../common/shared';
import { paramValues, type ParamsOf } from '../common/params';
import { RESTORE_PARAMS } from '../common/runbook-params';
import { LONG_STEP, runbook, stepActivities, undoActivities } from './kernel';
import { backupStoreText, hostWithRole, type PlanContext } from '../common/plan';
import { RESTORE_STEPS } from '../common/step-names';
import { previousDatabaseTodo } from './previous-database';

export type RestoreParams = ParamsOf<typeof RESTORE_PARAMS>;

const { checkBackup, dumpToStore, restoreIntoFresh } = stepActivities<typeof activities>(LONG_STEP);
const { restorePolicy, pickBackup, setMaintenance, verifyRows, swapIn, checkHealthThroughLb, dropDatabase } =
  stepActivities<typeof activities>({ startToCloseTimeout: '30 minutes' });
const undo = undoActivities<typeof activities>();

/** The app's database, as a plan names it. */
const database = (c: PlanContext) => String(c.vars.databaseName);

export async function restore(input: RunInput<RestoreParams>): Promise<RunResult> {
  const { env } = input;
  const params = paramValues(RESTORE_PARAMS, input.params);
  const tag = uuid4().replace(/-/g, '').slice(0, 12);
  return runbook(input, async (rb) => {
    const name = await rb.step(RESTORE_STEPS.pick, {
      run: () => pickBackup({ env, choice: params.backup }),
      reads: true,
      plan: (c) => ({ where: backupStoreText(c), does: params.backup }),
    });
    const checked = await rb.step(RESTORE_STEPS.checksum(name), {
      run: () => checkBackup({ env, name, acceptUnrecorded: params['accept-unrecorded'] === true }),
      reads: true,
      plan: (c) => ({
        where: backupStoreText(c),
        does: params['accept-unrecorded']
          ? "sha256sum of the dump equals the one its run recorded in Temporal, or (none kept) the store's own"
          : 'sha256sum of the dump equals the one its run recorded in Temporal, or refuse',
      }),
    });
    const policy = await rb.step(RESTORE_STEPS.policy, {
      run: () => restorePolicy({ env }),
      reads: true,
      plan: (c) => ({ where: 'worker', does: `the inventory says ${env} is ${c.protected ? '' : 'not '}protected` }),
    });
    if (policy.protected) await rb.approval(RESTORE_STEPS.gate);

    const safety = backupName(env, new Date(), 'safety');
    await rb.step(RESTORE_STEPS.safetyBackup(safety), {
      run: () => dumpToStore({ env, name: safety }),
      plan: (c) => ({
        where: `${hostWithRole(c, 'db')} → worker → ${backupStoreText(c)}`,
        does: `pg_dump --format=custom ${String(c.vars.databaseName)}`,
      }),
    });
    const maintenance = await rb.step(RESTORE_STEPS.maintenanceOn, {
      run: () => setMaintenance({ env, on: true }),
      undo: () => undo.setMaintenance({ env, on: false }),
      plan: (c) => ({
        where: hostWithRole(c, 'lb'),
        does: `touch ${String(c.vars.maintenanceFlag)}`,
        undo: 'remove it',
      }),
    });
    await rb.step(RESTORE_STEPS.restoreFresh, {
      // The sha256 checked above (runs from before have none: the store's manifest is used).
      run: () => restoreIntoFresh({ env, name, tag, sha256: checked.sha256 }),
      undo: () => undo.dropDatabase({ env, which: 'restored', tag }),
      plan: (c) => ({
        where: hostWithRole(c, 'db'),
        does: 'createdb; the dump streamed from the store to a file, its sha256 checked, then pg_restore',
        undo: 'drop that database',
      }),
    });
    await rb.step(RESTORE_STEPS.verifyRestored, {
      run: () => verifyRows({ env, name, tag, which: 'restored' }),
      plan: (c) => ({ where: hostWithRole(c, 'db'), does: "count(*) of every table equals the backup's" }),
    });
    await rb.step(RESTORE_STEPS.swapIn, {
      run: () => swapIn({ env, tag }),
      undo: () => undo.swapBack({ env, tag }),
      plan: (c) => ({
        where: hostWithRole(c, 'db'),
        does: `rename ${database(c)} aside and the restored one to ${database(c)}, in one transaction`,
        undo: 'swap the previous database back',
      }),
    });
    await rb.step(RESTORE_STEPS.verifyLive, {
      run: () => verifyRows({ env, name, tag, which: 'live' }),
      plan: (c) => ({
        where: hostWithRole(c, 'db'),
        does: `count(*) of every table of ${database(c)} equals the backup's`,
      }),
    });
    const previous = `runbook_previous_${tag}`;
    rb.settle(`${name} is restored, verified and live; the previous database is kept as ${previous}`, (failed) =>
      previousDatabaseTodo(env, previous, failed === RESTORE_STEPS.maintenanceOff ? maintenance : undefined),
    );

    await rb.step(RESTORE_STEPS.maintenanceOff, {
      run: () => setMaintenance({ env, on: false }),
      plan: (c) => ({ where: hostWithRole(c, 'lb'), does: `rm ${String(c.vars.maintenanceFlag)}` }),
    });
    await rb.step(RESTORE_STEPS.checkThroughLb, {
      run: () => checkHealthThroughLb({ env }),
      plan: (c) => ({ where: hostWithRole(c, 'lb'), does: `GET ${c.vars.healthPath} answers 200 with its database` }),
    });
    await rb.step(RESTORE_STEPS.dropPrevious, {
      run: () => dropDatabase({ env, which: 'previous', tag }),
      skippable: true,
      why: 'the restored database serves; the previous one only takes space until dropped by hand',
      plan: (c) => ({ where: hostWithRole(c, 'db'), does: 'dropdb (its content is in the safety backup)' }),
    });
  });
}
