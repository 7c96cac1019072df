// restore on the test bed: content comes back identical; a corrupted backup is refused before
// the database is touched; a restore that fails midway leaves the database as it was; the
// swap's undo puts the previous database back; a failure after the verified swap keeps the
// restore, names the previous database and the commands that put it back (restore-previous,
// run through the real CLI) or drop it; protected environments wait for approval.
import { strict as assert } from 'node:assert';
import { MockActivityEnvironment } from '@temporalio/testing';
import {
  checkBackup as checkBackupActivity,
  colours,
  dropDatabase,
  pickBackup,
  restartApp,
  restoreIntoFresh,
  stopApp,
  swapBack,
  swapIn,
} from '../activities';
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
import type { WorkflowHandle } from '@temporalio/client';
import { failed } from './run-ended';
import { FailureType } from '../common/failure-types';
import { atGate, runbookCli, startTestRun, testClient, uniqueQueue, waitForProgress, withWorker } from './helpers';
import { recordHistory } from './history-recorder';
import { dryRunOn } from './plan-facts';
import { bedEnvironment } from './bed-inventory';
import { signedDecision, signedInventory } from './identity-keys';
import { BACKUP_STEPS } from '../runbooks/backup/definition';

/** The run `runbook start` said it started. */
async function startedRun(stdout: string): Promise<WorkflowHandle> {
  const runId = /^started (\S+)/m.exec(stdout)?.[1];
  assert.ok(runId, stdout);
  return (await testClient()).workflow.getHandle(runId);
}

describe('restore on the test bed', function () {
  this.timeout(180_000);
  const taskQueue = uniqueQueue('restore');
  // Called as the worker calls it, from an activity of this queue: the backup records it
  // believes are those of runs on the same queue (activities/backup-record.ts).
  const checkBackup = (input: Parameters<typeof checkBackupActivity>[0]): ReturnType<typeof checkBackupActivity> =>
    new MockActivityEnvironment({ taskQueue }).run(checkBackupActivity, input) as ReturnType<
      typeof checkBackupActivity
    >;
  let name: string;
  let atBackup: Record<string, string>;

  const restore = (backup: string, env = 'local', more: Record<string, unknown> = {}) =>
    startTestRun(taskQueue, { runbook: 'restore', env, params: { backup, ...more } });
  const change = () =>
    sql(
      [
        "INSERT INTO items (name) VALUES ('eggs');",
        "DELETE FROM items WHERE name = 'flour';",
        'CREATE TABLE IF NOT EXISTS scribble (x int);',
        'INSERT INTO scribble VALUES (1);',
      ].join(' '),
    );
  /**
   * A copy of the good backup under another name, changed by `alter` (a shell script run in the
   * store dir on $1.dump).
   */
  async function variant(newName: string, alter: string): Promise<void> {
    const script = `set -e; cd "$1"; cp "$2.dump" "$3.dump"; sh -c "$4" alter "$3"
      sum=$(sha256sum "$3.dump" | cut -d' ' -f1); bytes=$(stat -c %s "$3.dump")
      sed -e "s/\\"name\\": \\"$2\\"/\\"name\\": \\"$3\\"/" \\
        -e "s/\\"sha256\\": \\"[0-9a-f]*\\"/\\"sha256\\": \\"$sum\\"/" \\
        -e "s/\\"bytes\\": [0-9]*/\\"bytes\\": $bytes/" "$2.json" > "$3.json"
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
      assert.deepEqual(
        await content(),
        atBackup,
        'every table has the rows it had when backed up (and the later table is gone)',
      );
      assert.equal(
        (await sql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'app';", 'postgres')).trim(),
        'app',
      );
      assert.equal(await maintenanceOn(), false);
      assert.equal(await healthThroughLb(), 200);
      assert.deepEqual(await leftoverDatabases(), [], 'the fresh and previous databases are gone');
      const safety = (await storeFiles()).filter((f) => f.endsWith('-safety.sha256'));
      assert.equal(safety.length, 1, 'the safety backup is in the store');
      const manifest = JSON.parse(
        (await onHost('lb', ['cat', `${STORE_DIR}/${safety[0].replace(/sha256$/, 'json')}`])).stdout,
      );
      assert.equal(
        manifest.rowCounts['public.scribble'],
        1,
        'the safety backup holds the database as it was before the restore',
      );
    });
  });

  it('keeps the restore when the app check fails after the swap; one command puts the newer back', async function () {
    this.timeout(300_000);
    let previous: string | undefined;
    try {
      await inScenario();
    } finally {
      // A failed assertion must not leave the kept database to the tests after this one.
      if (previous && (await leftoverDatabases()).includes(previous))
        await dropDatabase({ env: 'local', which: 'previous', tag: previous.slice(-12) });
    }
    async function inScenario(): Promise<void> {
      await withWorker(taskQueue, async () => {
        // The scenario: a backup (before()), then a new row, then the app stopped on the
        // live colour (an unrelated fault), then a restore.
        await sql("INSERT INTO items (name) VALUES ('written after the backup');");
        const newer = await content();
        const { live } = await colours({ env: 'local' });
        await stopApp({ env: 'local', host: live });
        let appStopped = true;
        try {
          const { failure, result } = await failed((await restore(name)).result());
          assert.equal(failure.type, FailureType.RunbookSettledThenFailed, failure.message);
          assert.equal(result.state, 'SETTLED_THEN_FAILED');
          assert.deepEqual(result.progress.compensations, [], 'nothing is undone: the restore stands');
          const f = result.progress.settledFailure!;
          previous = /kept as (runbook_previous_[0-9a-f]{12})$/.exec(f.stands)?.[1];
          assert.ok(previous, f.stands);
          assert.match(f.stands, new RegExp(`^${name} is restored, verified and live`));
          assert.equal(f.failedStep, 'check the app through the load balancer');
          assert.match(f.error, /answered 502/);
          assert.deepEqual(f.todo, [
            `to put the previous database back: runbook start restore-previous --env local --database ${previous}`,
            `once the app is healthy on the live database, drop the previous one: ` +
              `runbook start drop-previous --env local --database ${previous}`,
          ]);
          assert.match(
            failure.message,
            new RegExp(
              `settled then failed: .*kept as ${previous} stands; check the app through the load balancer: .*502`,
            ),
          );
          assert.deepEqual(await content(), atBackup, 'the restored database is live: the newer row is gone');
          assert.deepEqual(await leftoverDatabases(), [previous], 'the previous database is kept, not dropped');
          assert.equal(await maintenanceOn(), false);

          // The app fixed, the operator puts the previous database back with the printed command.
          await restartApp({ env: 'local', host: live });
          appStopped = false;
          const command = f.todo[0].split(': ')[1].split(' ');
          assert.deepEqual(command.slice(0, 2), ['runbook', 'start']);
          const putBack = await runbookCli([...command.slice(1), '--follow'], { RUNBOOK_TASK_QUEUE: taskQueue });
          assert.equal(putBack.code, 0, putBack.stdout + putBack.stderr);
          await recordHistory(await startedRun(putBack.stdout), 'restore-previous-completed');
          assert.deepEqual(await content(), newer, 'the newer row is back');
          assert.deepEqual(
            await leftoverDatabases(),
            [],
            'the restored database it replaced is dropped once the app is healthy (the safety backup holds it)',
          );
          assert.equal(await healthThroughLb(), 200);
        } finally {
          if (appStopped) await restartApp({ env: 'local', host: live });
        }
      });
    }
  });

  it('drop-previous drops a kept database once, and refuses any other name', async function () {
    await withWorker(taskQueue, async () => {
      const kept = 'runbook_previous_0123456789ab';
      await sql(`CREATE DATABASE ${kept};`, 'postgres');
      const env = { RUNBOOK_TASK_QUEUE: taskQueue };
      const dropped = await runbookCli(
        ['start', 'drop-previous', '--env', 'local', '--database', kept, '--follow'],
        env,
      );
      assert.equal(dropped.code, 0, dropped.stdout + dropped.stderr);
      await recordHistory(await startedRun(dropped.stdout), 'drop-previous-completed');
      assert.match(dropped.stdout, new RegExp(`changed: dropped ${kept}`));
      assert.deepEqual(await leftoverDatabases(), []);
      const again = await runbookCli(['start', 'drop-previous', '--env', 'local', '--database', kept, '--follow'], env);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.match(again.stdout, /unchanged/);
      for (const bad of [
        'app',
        'runbook_restored_0123456789ab',
        'runbook_previous_0123456789ab; DROP DATABASE app',
        'runbook_previous_0123',
      ]) {
        const refused = await runbookCli(['start', 'drop-previous', '--env', 'local', '--database', bad], env);
        assert.equal(refused.code, 2, `${bad}: ${refused.stderr}`);
      }
      const missing = await runbookCli(
        ['start', 'restore-previous', '--env', 'local', '--database', kept, '--follow'],
        env,
      );
      assert.equal(missing.code, 1, missing.stdout + missing.stderr);
      assert.match(missing.stdout, new RegExp(`there is no database ${kept}`));
    });
  });

  it('refuses a corrupted backup before touching the database', async function () {
    await withWorker(taskQueue, async () => {
      const corrupt = name.replace(/T\d{6}Z/, 'T000001Z');
      // Same checksum file and manifest as the good one; one byte of the dump flipped.
      await variant(corrupt, 'printf "\\377" | dd of="$1.dump" bs=1 seek=2000 conv=notrunc status=none');
      await onHost('lb', [
        'sh',
        '-c',
        'cd "$1" && cp "$2.sha256" "$3.sha256" && sed -i "s/$2/$3/" "$3.sha256" && cp "$2.json" "$3.json"',
        'same',
        STORE_DIR,
        name,
        corrupt,
      ]);
      await change();
      const before = await content();
      const files = await storeFiles();
      await assert.rejects(checkBackup({ env: 'local', name: corrupt }), /is corrupted/);
      const { failure, result } = await failed((await restore(corrupt)).result());
      assert.equal(failure.type, FailureType.RunbookCompensated);
      assert.match(result.progress.reason ?? '', /backup .* is corrupted/);
      assert.deepEqual(
        result.progress.steps.map((s) => s.status),
        ['done', 'failed'],
        'nothing ran after the checksum',
      );
      assert.deepEqual(await content(), before);
      assert.deepEqual(await storeFiles(), files, 'no safety backup was taken');
      assert.equal(await maintenanceOn(), false);
    });
  });

  it('refuses a forged dump whose checksum file and manifest were forged with it', async function () {
    await withWorker(taskQueue, async () => {
      // Whoever controls the store rewrites the recorded backup's dump, and its checksum file and
      // manifest to match: only the checksum its backup run recorded in Temporal tells.
      const forge = `set -e; cd "$1"; mkdir -p /root/kept; cp -a "$2".* /root/kept/
        printf "\\377" | dd of="$2.dump" bs=1 seek=2000 conv=notrunc status=none
        sum=$(sha256sum "$2.dump" | cut -d' ' -f1)
        sed -i "s/\\"sha256\\": \\"[0-9a-f]*\\"/\\"sha256\\": \\"$sum\\"/" "$2.json"
        printf '%s  %s\\n' "$sum" "$2.dump" > "$2.sha256"`;
      await onHost('lb', ['sh', '-c', forge, 'forge', STORE_DIR, name]);
      try {
        await change();
        const before = await content();
        const files = await storeFiles();
        await assert.rejects(
          checkBackup({ env: 'local', name }),
          new RegExp(`backup ${name} is not the dump run backup-local-\\S+ made: .*the run recorded [0-9a-f]{64}`),
        );
        const { failure, result } = await failed((await restore(name)).result());
        assert.equal(failure.type, FailureType.RunbookCompensated);
        assert.match(result.progress.reason ?? '', /is not the dump run .* made/);
        assert.deepEqual(
          result.progress.steps.map((s) => s.status),
          ['done', 'failed'],
          'nothing ran after the checksum',
        );
        assert.deepEqual(await content(), before);
        assert.deepEqual(await storeFiles(), files, 'no safety backup was taken');
      } finally {
        await onHost('lb', ['sh', '-c', 'cp -a /root/kept/* "$1"/ && rm -rf /root/kept', 'unforge', STORE_DIR]);
      }
      assert.equal((await checkBackup({ env: 'local', name })).recordedBy.startsWith('backup-local-'), true);
    });
  });

  it('refuses a backup no kept run made unless the operator accepts it', async function () {
    await withWorker(taskQueue, async () => {
      // A good copy under another name, checksum file and manifest to match: made by hand.
      const byHand = name.replace(/T\d{6}Z/, 'T000003Z');
      await variant(byHand, 'true');
      await change();
      const before = await content();
      await assert.rejects(checkBackup({ env: 'local', name: byHand }), /was made by no run Temporal keeps/);
      const { failure, result } = await failed((await restore(byHand)).result());
      assert.equal(failure.type, FailureType.RunbookCompensated);
      assert.match(result.progress.reason ?? '', /restore it with --accept-unrecorded/);
      assert.deepEqual(
        result.progress.steps.map((s) => s.status),
        ['done', 'failed'],
      );
      assert.deepEqual(await content(), before);
      const accepted = await checkBackup({ env: 'local', name: byHand, acceptUnrecorded: true });
      assert.match(accepted.recordedBy, /alone \(--accept-unrecorded\)/);
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
      // Made by hand (no run recorded it): restored only because the operator accepts that.
      const { failure, result } = await failed(
        (await restore(truncated, 'local', { 'accept-unrecorded': true })).result(),
      );
      assert.equal(failure.type, FailureType.RunbookCompensated);
      assert.match(result.progress.reason ?? '', /pg_restore/);
      assert.deepEqual(
        result.progress.compensations.map((c) => [c.step, c.status]),
        [
          ['restore into a fresh database', 'done'],
          ['maintenance on', 'done'],
        ],
      );
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
    // Protected, so signed: op starts, alice decides, each with a key of their own.
    const vault = signedInventory(
      'vault',
      ['op', 'alice', 'bob'],
      ['alice', 'bob'],
      1,
      bedEnvironment('vault', (env) => (env.vars.backupStore = { host: 'lb', dir: '/var/backups/runbook/vault' })),
    );
    const signed = { env: 'vault', initiator: 'op', signWith: vault.key('op') };
    try {
      await withWorker(taskQueue, async () => {
        // A backup on a protected environment waits before its retention deletes anything.
        const backup = await startTestRun(taskQueue, { runbook: 'backup', ...signed });
        await waitForProgress(backup, atGate(BACKUP_STEPS.gate), 'the retention gate');
        await backup.signal(approvalSignal, await signedDecision(backup, 'alice', vault.key('alice')));
        assert.equal(((await backup.result()) as RunResult).state, 'COMPLETED');
        const planned = await dryRunOn(taskQueue, { runbook: 'restore', params: {}, ...signed });
        assert.ok(
          planned.plan.some((p) => 'gate' in p),
          'the plan shows the gate',
        );
        await change();
        const before = await content();
        const handle = await startTestRun(taskQueue, { runbook: 'restore', params: { backup: 'latest' }, ...signed });
        await waitForProgress(handle, atGate('restore'), 'the restore gate');
        assert.equal(await maintenanceOn(), false, 'nothing happens before approval');
        const rejection = await signedDecision(handle, 'alice', vault.key('alice'), 'reject', 'wrong backup');
        await handle.signal(approvalSignal, rejection);
        const { result } = await failed(handle.result());
        assert.equal(result.state, 'COMPENSATED');
        assert.deepEqual(
          result.progress.steps.map((s) => s.name.replace(/ of .*| to .*/, '')),
          ['pick the backup', 'check the checksum', 'read whether the environment is protected'],
        );
        assert.deepEqual(await content(), before);
        assert.deepEqual(
          (await storeFiles('/var/backups/runbook/vault')).filter((f) => f.includes('safety')),
          [],
        );
      });
    } finally {
      vault.remove();
    }
  });

  it('refuses hostile or foreign backup names before anything runs', async function () {
    for (const bad of ['../../etc/passwd', `${name}/../x`, `${name}.dump`, 'latest; rm -rf /', '-rf', `../${name}`]) {
      assert.throws(
        () => prepareRun({ runbook: 'restore', env: 'local', params: { backup: bad }, initiator: 'op' }),
        UsageError,
        bad,
      );
    }
    await assert.rejects(
      pickBackup({ env: 'local', choice: name.replace(/^local/, 'vault') }),
      /is not a backup name of local/,
    );
    await assert.rejects(
      pickBackup({ env: 'local', choice: 'local-19990101T000000Z' }),
      /no complete backup named local-19990101T000000Z/,
    );
  });
});
