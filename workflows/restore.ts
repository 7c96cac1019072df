// restore: pick a backup (latest or named) and check its checksum before anything is touched;
// approval on protected environments; a safety backup of the database as it is; maintenance
// page on; restore into a fresh database and verify its row counts; swap it in (one rename
// transaction) and verify again; maintenance off. Until the swap the application's database
// is untouched; a failure after it swaps the previous database back, which holds exactly
// what the safety backup holds.
import { uuid4 } from '@temporalio/workflow';
import type * as activities from '../activities';
import { backupName } from '../common/backup-names';
import type { RunInput, RunResult } from '../common/shared';
import { LONG_STEP } from './backup';
import { runbook, stepActivities, undoActivities } from './kernel';

export type RestoreParams = {
  /** "latest" (default) or a backup name such as prod-20261123T020000Z. */
  backup?: string;
};

const { checkBackup, dumpToStore, restoreIntoFresh } = stepActivities<typeof activities>(LONG_STEP);
const { restorePolicy, pickBackup, setMaintenance, verifyRows, swapIn, checkHealthThroughLb, dropDatabase } = stepActivities<typeof activities>({ startToCloseTimeout: '30 minutes' });
const undo = undoActivities<typeof activities>();

export async function restore(input: RunInput<RestoreParams>): Promise<RunResult> {
  const { env } = input;
  const tag = uuid4().replace(/-/g, '').slice(0, 12);
  return runbook(input, async (rb) => {
    const name = await rb.step('pick the backup', { run: () => pickBackup({ env, choice: input.params.backup ?? 'latest' }) });
    await rb.step(`check the checksum of ${name}`, { run: () => checkBackup({ env, name }) });
    const policy = await rb.step('read whether the environment is protected', { run: () => restorePolicy({ env }) });
    if (policy.protected) await rb.approval('restore');

    const safety = backupName(env, new Date(), 'safety');
    await rb.step(`safety backup to ${safety}`, { run: () => dumpToStore({ env, name: safety }) });
    await rb.step('maintenance on', {
      run: () => setMaintenance({ env, on: true }),
      undo: () => undo.setMaintenance({ env, on: false }),
    });
    await rb.step('restore into a fresh database', {
      run: () => restoreIntoFresh({ env, name, tag }),
      undo: () => undo.dropDatabase({ env, which: 'restored', tag }),
    });
    await rb.step('verify the restored row counts', { run: () => verifyRows({ env, name, tag, which: 'restored' }) });
    await rb.step('swap the restored database in', {
      run: () => swapIn({ env, tag }),
      undo: () => undo.swapBack({ env, tag }),
    });
    await rb.step('verify the live row counts', { run: () => verifyRows({ env, name, tag, which: 'live' }) });
    rb.settle(`${name} is restored and verified`);

    await rb.step('maintenance off', { run: () => setMaintenance({ env, on: false }) });
    await rb.step('check the app through the load balancer', { run: () => checkHealthThroughLb({ env }) });
    await rb.step('drop the previous database (the safety backup keeps it)', { run: () => dropDatabase({ env, which: 'previous', tag }) });
  });
}
