// backup: pg_dump streamed off the database host into the backup store, checksummed, then
// verified by restoring it into a scratch database and comparing every table's row count
// (a backup never restored is not a backup), then retention. A backup that does not end
// verified is deleted; once verified it is kept whatever happens after: a failed retention ends
// the run SETTLED_THEN_FAILED (the backup stands; the next backup applies retention again).
import { uuid4 } from '@temporalio/workflow';
import type * as activities from '../../activities';
import type * as own from './activities';
import { backupName } from '../../common/backup-names';
import type { RunInput, RunResult } from '../../common/shared';
import { paramValues, type ParamsOf } from '../../common/params';
import { LONG_STEP, runbook, stepActivities, undoActivities } from '../../workflows/kernel';
import { backupStoreText, hostWithRole } from '../../common/plan';
import { BACKUP_PARAMS, BACKUP_STEPS } from './definition';

export type BackupParams = ParamsOf<typeof BACKUP_PARAMS>;

// A dump heartbeats every second with its bytes so far: a worker that dies is noticed within
// the heartbeat timeout (the kernel's, 10 s) and the retry dumps again from the start.
const { dumpToStore } = stepActivities<typeof activities>(LONG_STEP);
const { verifyInScratch } = stepActivities<typeof own>(LONG_STEP);
const { applyRetention } = stepActivities<typeof own>();
const { removeBackup } = undoActivities<typeof own>();
const { dropDatabase } = undoActivities<typeof activities>();

export async function backup(input: RunInput<BackupParams>): Promise<RunResult> {
  const { env } = input;
  // Retention not given: the inventory's backupRetention, else the declared default (the activity's).
  const { daily, weekly } = paramValues(BACKUP_PARAMS, input.params);
  const name = backupName(env, new Date());
  const tag = uuid4().replace(/-/g, '').slice(0, 12);
  return runbook(input, async (rb) => {
    const made = await rb.step(BACKUP_STEPS.dump(name), {
      run: () => dumpToStore({ env, name }),
      undo: () => removeBackup({ env, name }),
      plan: (c) => ({
        where: `${hostWithRole(c, 'db')} → worker → ${backupStoreText(c)}`,
        does:
          `pg_dump --format=custom ${String(c.vars.databaseName)} streamed to ${name}.dump ` +
          'with its sha256 and row counts',
        undo: 'delete that backup',
      }),
    });
    await rb.step(BACKUP_STEPS.verify, {
      // Restored from what the dump step hashed as it passed, not from the store's word.
      run: () => verifyInScratch({ env, name, tag, sha256: made.sha256 }),
      undo: () => dropDatabase({ env, which: 'scratch', tag }),
      plan: (c) => ({
        where: hostWithRole(c, 'db'),
        does: "pg_restore into a scratch database streamed from the store; compare every table's row count; drop it",
        undo: 'drop the scratch database',
      }),
    });
    rb.settle(`${name} is in the store and verified`, () => [
      `retention did not finish: older backups may be kept beyond the policy (none is lost); ` +
        `the next backup applies it again: runbook start backup --env ${env}`,
    ]);
    // Retention deletes backups: four eyes first where the worker's rules say (protected).
    await rb.gate(BACKUP_STEPS.gate);
    await rb.step(BACKUP_STEPS.retention, {
      run: () => applyRetention({ env, keep: name, daily, weekly }),
      skippable: true,
      why: 'the verified backup is kept either way; old ones go at the next run',
      plan: (c) => {
        const kept = c.vars.backupRetention;
        const days = daily ?? kept.daily ?? BACKUP_PARAMS.daily.default;
        const weeks = weekly ?? kept.weekly ?? BACKUP_PARAMS.weekly.default;
        return {
          where: backupStoreText(c),
          does: `keep the newest backup of the last ${days} days and ${weeks} weeks; delete the other scheduled ones`,
        };
      },
    });
  });
}
