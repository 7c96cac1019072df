// Records the worker relies on are believed only from the engine's own runs: a run of the
// attacker's own named `backup`, on a queue of their own, "records" a checksum for a forged
// dump; restore's lookup (activities/backup-record.ts) must not return it.
import { strict as assert } from 'node:assert';
import { recordedBackup } from '../activities/backup-record';
import { backupName } from '../common/backup-names';
import { RunbookEnvKey, RunbookNameKey } from '../common/shared';
import { testClient, uniqueQueue } from './helpers';
import { withAttackerWorker } from './attacker/tools';
import type { backup } from './attacker/workflows';

describe('records are believed only from the engine', function () {
  it("a checksum recorded by a `backup` run on the attacker's queue is not the backup's record", async function () {
    const engine = uniqueQueue('engine-records');
    const attacker = uniqueQueue('attacker-records');
    const name = backupName('test', new Date());
    const forged = { name, sha256: 'f'.repeat(64) };
    const client = await testClient();
    await withAttackerWorker(
      attacker,
      () =>
        client.workflow.execute<typeof backup>('backup', {
          taskQueue: attacker,
          workflowId: `forged-backup-${attacker}`,
          args: [forged],
          typedSearchAttributes: [
            { key: RunbookNameKey, value: 'backup' },
            { key: RunbookEnvKey, value: 'test' },
          ],
        }),
      { dumpToStore: async (f: typeof forged) => f },
    );
    // Visibility catches up within a moment: the forged run is found on its own queue first,
    // so the engine's lookup below is not merely early.
    const deadline = Date.now() + 30_000;
    let onAttackerQueue;
    while (!onAttackerQueue && Date.now() < deadline) {
      onAttackerQueue = await recordedBackup('test', name, client, attacker);
      if (!onAttackerQueue) await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(onAttackerQueue?.sha256, forged.sha256, 'the forged record should exist on the attacker queue');
    assert.equal(await recordedBackup('test', name, client, engine), undefined);
  });
});
