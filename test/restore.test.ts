// restore on the test bed: content comes back identical; a corrupted backup is refused before
// the database is touched; a restore that fails midway leaves the database as it was; the
// swap's undo puts the previous database back; protected environments wait for approval.
import { strict as assert } from 'node:assert';
import { checkBackup, dropDatabase, pickBackup, restoreIntoFresh, swapBack, swapIn } from '../activities';
import { UsageError } from '../src/errors';
import { approvalSignal, type RunResult } from '../common/shared';
import { prepareRun } from '../src/start';
import {
  content,
  healthThroughLb,
  leftoverDatabases,
  maintenanceOn,
  newestBackup,
  onHost,
  sql,
  STORE_DIR,
  storeFiles,
} from './database-helpers';
import { failed } from './run-ended';
import { FailureType } from '../common/failure-types';
import { atGate, startTestRun, uniqueQueue, waitForProgress, withWorker } from './helpers';
import { recordHistory } from './history-recorder';

describe('restore on the test bed', function () {
  this.timeout(180_000);
  const taskQueue = uniqueQueue('restore');
  let name: string;
  let atBackup: Record<string, string>;

  const restore = (backup: string, env = 'local') => startTestRun(taskQueue, { runbook: 'restore', env, params: { backup } });
  const change = () => sql("INSERT INTO items (name) VALUES ('eggs'); DELETE FROM items WHERE name = 'flour'; CREATE TABLE IF NOT EXISTS scribble (x int); INSERT INTO scribble VALUES (1);");
  /** A copy of the good backup under another name, changed by `alter` (a shell script run in the store dir on $1.dump). */
  async function variant(newName: string, alter: string): Promise<void> {
    const script = `set -e; cd "$1"; cp "$2.dump" "$3.dump"; sh -c "$4" alter "$3"
      sum=$(sha256sum "$3.dump" | cut -d' ' -f1); bytes=$(stat -c %s "$3.dump")
      sed -e "s/\\"name\\": \\"$2\\"/\\"name\\": \\"$3\\"/" -e "s/\\"sha256\\": \\"[0-9a-f]*\\"/\\"sha256\\": \\"$sum\\"/" -e "s/\\"bytes\\": [0-9]*/\\"bytes\\": $bytes/" "$2.json" > "$3.json"
      printf '%s  %s\\n' "$sum" "$3.dump" > "$3.sha256"`;
    await onHost('lb', ['sh', '-c', script, 'variant', STORE_DIR, name, newName, alter]);
  }

  before(async function () {
    await withWorker(taskQueue, async () => {
      const result = (await (await startTestRun(taskQueue, { runbook: 'backup', env: 'local' })).result()) as RunResult;
      assert.equal(result.state, 'COMPLETED');
      name = (await newestBackup())!;
      atBackup = await content();
    });
  });

  it('gives back identical row counts and content, then the app serves again', async function () {
    await withWorker(taskQueue, async () => {
      await change();
      assert.notDeepEqual(await content(), atBackup);
      const handle = await restore(name);
      const result = (await handle.result()) as RunResult;
      assert.equal(result.state, 'COMPLETED', JSON.stringify(result.progress.steps));
      await recordHistory(handle, 'restore-completed');
      assert.deepEqual(result.progress.gates, [], 'local is not protected: no approval');
      assert.deepEqual(await content(), atBackup, 'every table has the rows it had when backed up (and the later table is gone)');
      assert.equal((await sql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'app';", 'postgres')).trim(), 'app');
      assert.equal(await maintenanceOn(), false);
      assert.equal(await healthThroughLb(), 200);
      assert.deepEqual(await leftoverDatabases(), [], 'the fresh and previous databases are gone');
      const safety = (await storeFiles()).filter((f) => f.endsWith('-safety.sha256'));
      assert.equal(safety.length, 1, 'the safety backup is in the store');
      const manifest = JSON.parse((await onHost('lb', ['cat', `${STORE_DIR}/${safety[0].replace(/sha256$/, 'json')}`])).stdout);
      assert.equal(manifest.rowCounts['public.scribble'], 1, 'the safety backup holds the database as it was before the restore');
    });
  });

  it('refuses a corrupted backup before touching the database', async function () {
    await withWorker(taskQueue, async () => {
      const corrupt = name.replace(/T\d{6}Z/, 'T000001Z');
      // Same checksum file and manifest as the good one; one byte of the dump flipped.
      await variant(corrupt, 'printf "\\377" | dd of="$1.dump" bs=1 seek=2000 conv=notrunc status=none');
      await onHost('lb', ['sh', '-c', 'cd "$1" && cp "$2.sha256" "$3.sha256" && sed -i "s/$2/$3/" "$3.sha256" && cp "$2.json" "$3.json"', 'same', STORE_DIR, name, corrupt]);
      await change();
      const before = await content();
      const files = await storeFiles();
      await assert.rejects(checkBackup({ env: 'local', name: corrupt }), /is corrupted/);
      const { failure, result } = await failed((await restore(corrupt)).result());
      assert.equal(failure.type, FailureType.RunbookCompensated);
      assert.match(result.progress.reason ?? '', /backup .* is corrupted/);
      assert.deepEqual(result.progress.steps.map((s) => s.status), ['done', 'failed'], 'nothing ran after the checksum');
      assert.deepEqual(await content(), before);
      assert.deepEqual(await storeFiles(), files, 'no safety backup was taken');
      assert.equal(await maintenanceOn(), false);
    });
  });

  it('leaves the database as it was when pg_restore fails midway', async function () {
    await withWorker(taskQueue, async () => {
      // Half the dump, with a checksum and manifest that match it: it passes the check, then
      // pg_restore fails on the truncated data.
      const truncated = name.replace(/T\d{6}Z/, 'T000002Z');
      await variant(truncated, 'truncate -s $(( $(stat -c %s "$1.dump") / 2 )) "$1.dump"');
      await change();
      const before = await content();
      const { failure, result } = await failed((await restore(truncated)).result());
      assert.equal(failure.type, FailureType.RunbookCompensated);
      assert.match(result.progress.reason ?? '', /pg_restore/);
      assert.deepEqual(result.progress.compensations.map((c) => [c.step, c.status]), [
        ['restore into a fresh database', 'done'],
        ['maintenance on', 'done'],
      ]);
      assert.deepEqual(await content(), before, 'the database is as it was');
      assert.deepEqual(await leftoverDatabases(), []);
      assert.equal(await maintenanceOn(), false);
      assert.equal(await healthThroughLb(), 200);
    });
  });

  it('puts the previous database back when undoing the swap, and each step is safe to repeat', async function () {
    await change();
    const before = await content();
    const tag = 'feedc0ffee00';
    try {
      await restoreIntoFresh({ env: 'local', name, tag });
      assert.deepEqual(await swapBack({ env: 'local', tag }), { changed: false }, 'nothing to undo before the swap');
      assert.deepEqual(await swapIn({ env: 'local', tag }), { changed: true });
      assert.deepEqual(await swapIn({ env: 'local', tag }), { changed: false }, 'a retried swap does nothing');
      assert.deepEqual(await content(), atBackup);
      assert.deepEqual(await swapBack({ env: 'local', tag }), { changed: true });
      assert.deepEqual(await swapBack({ env: 'local', tag }), { changed: false });
      assert.deepEqual(await content(), before);
      assert.equal((await sql("SELECT datallowconn FROM pg_database WHERE datname = 'app';", 'postgres')).trim(), 't');
    } finally {
      await dropDatabase({ env: 'local', which: 'restored', tag });
      await dropDatabase({ env: 'local', which: 'previous', tag });
    }
    assert.deepEqual(await leftoverDatabases(), []);
  });

  it('waits for approval on a protected environment; a rejection changes nothing', async function () {
    await withWorker(taskQueue, async () => {
      const made = (await (await startTestRun(taskQueue, { runbook: 'backup', env: 'vault' })).result()) as RunResult;
      assert.equal(made.state, 'COMPLETED');
      assert.ok(prepareRun({ runbook: 'restore', env: 'vault', params: {}, initiator: 'op' }).plan.some((p) => 'gate' in p), 'the plan shows the gate');
      await change();
      const before = await content();
      const handle = await restore('latest', 'vault');
      await waitForProgress(handle, atGate('restore'), 'the restore gate');
      assert.equal(await maintenanceOn(), false, 'nothing happens before approval');
      await handle.signal(approvalSignal, { approver: 'alice', decision: 'reject', comment: 'wrong backup' });
      const { result } = await failed(handle.result());
      assert.equal(result.state, 'COMPENSATED');
      assert.deepEqual(result.progress.steps.map((s) => s.name.replace(/ of .*| to .*/, '')), ['pick the backup', 'check the checksum', 'read whether the environment is protected']);
      assert.deepEqual(await content(), before);
      assert.deepEqual((await storeFiles('/var/backups/runbook/vault')).filter((f) => f.includes('safety')), []);
    });
  });

  it('refuses hostile or foreign backup names before anything runs', async function () {
    for (const bad of ['../../etc/passwd', `${name}/../x`, `${name}.dump`, 'latest; rm -rf /', '-rf', `../${name}`]) {
      assert.throws(() => prepareRun({ runbook: 'restore', env: 'local', params: { backup: bad }, initiator: 'op' }), UsageError, bad);
    }
    await assert.rejects(pickBackup({ env: 'local', choice: name.replace(/^local/, 'vault') }), /is not a backup name of local/);
    await assert.rejects(pickBackup({ env: 'local', choice: 'local-19990101T000000Z' }), /no complete backup named local-19990101T000000Z/);
  });
});
