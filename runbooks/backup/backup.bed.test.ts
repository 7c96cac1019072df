// backup on the test bed: the dump lands on the store host (lb), never on db, checksummed and
// verified; retention deletes only what it should; a cancelled run and a dead worker leave
// nothing half-made behind. Checked over SSH and psql on the real hosts.
import { strict as assert } from 'node:assert';
import { backupName, parseBackupName, retained } from '../../common/backup-names';
import { UsageError } from '../../src/errors';
import { prepareRun } from '../../src/start';
import type { RunResult } from '../../common/shared';
import {
  addBulkTable,
  content,
  dropBulkTable,
  leftoverDatabases,
  newestBackup,
  onHost,
  sql,
  STORE_DIR,
  storeFiles,
} from '../../test/database-helpers';
import { failed } from '../../test/run-ended';
import { FailureType } from '../../common/failure-types';
import { startTestRun, uniqueQueue, waitForProgress, withWorker } from '../../test/helpers';
import { recordHistory } from '../../test/history-recorder';
import { bedInventory } from '../../test/bed-inventory';
import { startWorkerProcess } from '../../test/worker-process';

describe('backup names and retention', function () {
  it('names a backup by environment and UTC time, and parses only that shape', function () {
    const name = backupName('prod', new Date('2026-11-23T02:00:07.123Z'));
    assert.equal(name, 'prod-20261123T020007Z');
    assert.equal(backupName('prod', new Date('2026-11-23T02:00:07Z'), 'safety'), 'prod-20261123T020007Z-safety');
    assert.deepEqual(parseBackupName('prod-20261123T020007Z-safety'), {
      name: 'prod-20261123T020007Z-safety',
      env: 'prod',
      at: new Date('2026-11-23T02:00:07Z'),
      safety: true,
    });
    for (const bad of [
      '../prod-20261123T020007Z',
      'prod-20261123T020007Z/..',
      'prod-20261123T020007Z.dump',
      'prod-2026112T020007Z',
      'Prod-20261123T020007Z',
      'prod-20261323T020007Z',
      '',
    ]) {
      assert.equal(parseBackupName(bad), undefined, bad);
    }
  });

  it('keeps the newest backup of each of the last N days and M weeks', function () {
    const names = [
      'e-20200106T100000Z',
      'e-20200106T200000Z',
      'e-20200108T100000Z',
      'e-20200113T100000Z',
      'e-20200115T100000Z',
      'e-20200116T100000Z',
    ];
    // Days: 16th, 15th, 13th. ISO weeks: 13-19 Jan (newest: 16th), 6-12 Jan (newest: 8th).
    assert.deepEqual([...retained(names, 3, 2)].sort(), [
      'e-20200108T100000Z',
      'e-20200113T100000Z',
      'e-20200115T100000Z',
      'e-20200116T100000Z',
    ]);
    assert.deepEqual([...retained(names, 1, 0)], ['e-20200116T100000Z']);
    assert.deepEqual([...retained(names, 0, 0)], []);
    // 2020-12-31 (Thu) and 2021-01-03 (Sun) are the same ISO week, 2020-W53.
    assert.deepEqual([...retained(['e-20201231T000000Z', 'e-20210103T000000Z'], 0, 1)], ['e-20210103T000000Z']);
  });

  it('refuses a malformed retention count before anything runs', function () {
    assert.throws(
      () => prepareRun({ runbook: 'backup', env: 'local', params: { daily: '-1' }, initiator: 'op' }),
      (e: Error) => e instanceof UsageError && /--daily "-1" is not valid/.test(e.message),
    );
    assert.throws(
      () => prepareRun({ runbook: 'backup', env: 'local', params: { weekly: '4; rm -rf /' }, initiator: 'op' }),
      UsageError,
    );
  });
});

describe('backup on the test bed', function () {
  this.timeout(180_000);
  const taskQueue = uniqueQueue('backup');
  const backup = (params: Record<string, string> = {}) =>
    startTestRun(taskQueue, { runbook: 'backup', env: 'local', params });

  it('streams a checksummed dump to the store on lb, nothing on db, verified in a scratch database', async function () {
    await withWorker(taskQueue, async () => {
      const source = await content();
      const handle = await backup();
      const result = (await handle.result()) as RunResult;
      assert.equal(result.state, 'COMPLETED');
      const name = await newestBackup();
      assert.ok(name, 'a backup is in the store');
      assert.deepEqual(
        result.progress.steps.map((s) => [s.name, s.status]),
        [
          [`dump the database to ${name}`, 'done'],
          ['verify it in a scratch database', 'done'],
          ['apply retention', 'done'],
        ],
      );
      const files = await storeFiles();
      for (const suffix of ['dump', 'json', 'sha256'])
        assert.ok(files.includes(`${name}.${suffix}`), `${name}.${suffix} is in the store`);
      assert.deepEqual(
        files.filter((f) => f.endsWith('.partial')),
        [],
        'no partial file is left',
      );
      // The checksum file checks the dump on the store host itself.
      assert.match(
        (await onHost('lb', ['sh', '-c', 'cd "$1" && sha256sum -c -- "$2"', 'check', STORE_DIR, `${name}.sha256`]))
          .stdout,
        /\.dump: OK/,
      );
      const manifest = JSON.parse((await onHost('lb', ['cat', `${STORE_DIR}/${name}.json`])).stdout);
      const rows = Object.fromEntries(Object.entries(source).map(([t, v]) => [t, Number(v.split(' ')[0])]));
      assert.deepEqual(manifest.rowCounts, rows, 'the manifest has the exact row count of every table');
      assert.ok(manifest.rowCounts['public.items'] >= 3);
      // Streamed, not staged: the dump never touched db's disks.
      assert.equal((await onHost('db', ['find', '/', '-xdev', '-name', `*${name}*`])).stdout.trim(), '');
      assert.deepEqual(await leftoverDatabases(), [], 'the scratch database is dropped');
      // It restores: pg_restore --list reads its table of contents.
      assert.match(
        (
          await onHost('lb', [
            'sh',
            '-c',
            'pg_restore --list "$1" | grep -c "TABLE DATA"',
            'toc',
            `${STORE_DIR}/${name}.dump`,
          ])
        ).stdout,
        /^[1-9]/,
      );
      await recordHistory(handle, 'backup-completed');
    });
  });

  it('applies retention: keeps the newest backup per day and per week, deletes only backup names', async function () {
    await withWorker(taskQueue, async () => {
      const old = [
        'local-20200106T100000Z',
        'local-20200106T200000Z',
        'local-20200108T100000Z',
        'local-20200113T100000Z',
        'local-20200115T100000Z',
      ];
      const bystanders = [
        'local-20200101T000000Z-safety.dump',
        'notes.txt',
        'other-20200101T000000Z.dump',
        'local-20200101T000000Z.dump.bak',
      ];
      const before = await storeFiles();
      const made = old.flatMap((n) => ['dump', 'json', 'sha256'].map((s) => `${n}.${s}`));
      await onHost('lb', [
        'sh',
        '-c',
        'cd "$1" && shift && touch -- "$@"',
        'touch',
        STORE_DIR,
        ...made,
        ...bystanders,
        '.local-20200105T000000Z.dump.partial',
      ]);
      const result = (await (await backup({ daily: '3', weekly: '2' })).result()) as RunResult;
      assert.equal(result.state, 'COMPLETED');
      const name = (await newestBackup())!;
      const after = await storeFiles();
      // Days: today, 15 Jan, 13 Jan. Weeks: this one, and 13-19 Jan 2020 (newest: the 15th).
      const expected = ['local-20200113T100000Z', 'local-20200115T100000Z', name];
      const backups = (files: string[]) =>
        [
          ...new Set(
            files.filter((f) => /^local-\d{8}T\d{6}Z\.(dump|json|sha256)$/.test(f)).map((f) => f.replace(/\.\w+$/, '')),
          ),
        ].sort();
      assert.deepEqual(backups(after), expected.sort());
      for (const b of bystanders) assert.ok(after.includes(b), `${b} is not a backup of retention's and stays`);
      assert.ok(!after.includes('.local-20200105T000000Z.dump.partial'), 'a stale partial dump is deleted');
      assert.ok(
        before.every((f) => after.includes(f) || /^local-\d{8}T\d{6}Z\./.test(f)),
        'nothing else disappeared',
      );
      await onHost('lb', ['sh', '-c', 'cd "$1" && shift && rm -f -- "$@"', 'rm', STORE_DIR, ...bystanders]);
    });
  });

  it('keeps the verified backup when retention then fails: SETTLED_THEN_FAILED, not COMPENSATED', async function () {
    await withWorker(taskQueue, async () => {
      // An old backup retention must delete, whose manifest is a mount point: rm fails on it
      // (busy), on every retry, as it would on a read-only or failing store.
      const blocker = 'local-20200101T000000Z';
      await onHost('lb', [
        'sh',
        '-c',
        'mkdir -p "$1" && cd "$1" && touch "$2.json" && mount --bind "$2.json" "$2.json"',
        'block',
        STORE_DIR,
        blocker,
      ]);
      try {
        const handle = await backup();
        const ended = await handle.result().catch(() => undefined);
        assert.equal(
          ended,
          undefined,
          `the run should have failed: ${JSON.stringify((ended as RunResult | undefined)?.progress.steps)} ` +
            `store: ${(await storeFiles()).join(' ')}`,
        );
        const { failure, result } = await failed(handle.result());
        assert.equal(failure.type, FailureType.RunbookSettledThenFailed, failure.message);
        assert.equal(result.state, 'SETTLED_THEN_FAILED');
        const name = result.progress.steps[0].name.replace('dump the database to ', '');
        const f = result.progress.settledFailure!;
        assert.equal(f.stands, `${name} is in the store and verified`);
        assert.equal(f.failedStep, 'apply retention');
        assert.match(f.error, /rm.*exited with 1: .*busy/i);
        assert.deepEqual(f.todo, [
          `retention did not finish: older backups may be kept beyond the policy (none is lost); ` +
            `the next backup applies it again: runbook start backup --env local`,
        ]);
        assert.deepEqual(result.progress.compensations, [], 'the backup is not deleted');
        assert.equal(await newestBackup(), name);
        assert.match(
          (await onHost('lb', ['sh', '-c', 'cd "$1" && sha256sum -c -- "$2"', 'check', STORE_DIR, `${name}.sha256`]))
            .stdout,
          /\.dump: OK/,
        );
        assert.deepEqual(await leftoverDatabases(), []);
      } finally {
        await onHost('lb', [
          'sh',
          '-c',
          'cd "$1" && { umount "$2.json" || true; } && rm -f -- "$2.dump" "$2.json" "$2.sha256"',
          'unblock',
          STORE_DIR,
          blocker,
        ]);
      }
    });
  });

  describe('with a database that takes seconds to dump', function () {
    before(async () => addBulkTable());
    after(async () => dropBulkTable());

    it('cancelled during verification: drops the scratch database, deletes the unverified backup', async function () {
      await withWorker(taskQueue, async () => {
        const before = await storeFiles();
        const handle = await backup();
        await waitForProgress(
          handle,
          (p) => p.steps.some((s) => s.name.startsWith('verify') && s.status === 'running'),
          'the verification',
        );
        for (let i = 0; i < 300 && !(await leftoverDatabases()).length; i++)
          await new Promise((r) => setTimeout(r, 100));
        assert.equal((await leftoverDatabases()).length, 1, 'the scratch database exists while it is verified');
        await handle.cancel();
        await assert.rejects(handle.result());
        const progress = await waitForProgress(handle, (p) => p.state === 'COMPENSATED', 'compensation');
        assert.deepEqual(
          progress.compensations.map((c) => [c.step, c.status]),
          [
            ['verify it in a scratch database', 'done'],
            [progress.steps[0].name, 'done'],
          ],
        );
        for (let i = 0; i < 100 && (await leftoverDatabases()).length; i++)
          await new Promise((r) => setTimeout(r, 100));
        assert.deepEqual(await leftoverDatabases(), []);
        assert.deepEqual(await storeFiles(), before, 'the store is as it was');
        // [p]: the pattern must not match the command line of the wrapper running pgrep.
        const running = async () =>
          (await onHost('db', ['pgrep', '-f', '[p]g_restore|[p]g_dump'], [0, 1])).exitCode === 0;
        for (let i = 0; i < 100 && (await running()); i++) await new Promise((r) => setTimeout(r, 100));
        assert.equal(await running(), false, 'nothing is left running on db');
      });
    });

    it('restarts the dump cleanly when the worker dies in the middle of it', async function () {
      const before = await newestBackup();
      let worker = await startWorkerProcess(taskQueue);
      try {
        const handle = await backup();
        // The dump is running when bytes have reached the store.
        const partialGrows = async () =>
          (
            await onHost(
              'lb',
              ['sh', '-c', 'find "$1" -name ".*.dump.partial" -size +1k | grep -q .', 'p', STORE_DIR],
              [0, 1],
            )
          ).exitCode === 0;
        for (let i = 0; i < 600 && !(await partialGrows()); i++) await new Promise((r) => setTimeout(r, 50));
        assert.ok(await partialGrows(), 'the dump started streaming');
        await worker.kill('SIGKILL');
        worker = await startWorkerProcess(taskQueue);
        const result = (await handle.result()) as RunResult;
        assert.equal(result.state, 'COMPLETED');
        const name = (await newestBackup())!;
        assert.notEqual(name, before);
        assert.match(
          (await onHost('lb', ['sh', '-c', 'cd "$1" && sha256sum -c -- "$2"', 'check', STORE_DIR, `${name}.sha256`]))
            .stdout,
          /OK/,
        );
        const manifest = JSON.parse((await onHost('lb', ['cat', `${STORE_DIR}/${name}.json`])).stdout);
        assert.equal(manifest.rowCounts['public.bulk'], Number((await sql('SELECT count(*) FROM bulk;')).trim()));
        assert.deepEqual(
          (await storeFiles()).filter((f) => f.endsWith('.partial')),
          [],
        );
        assert.deepEqual(await leftoverDatabases(), []);
      } finally {
        await worker.kill('SIGTERM');
      }
    });
  });

  it('fails before streaming anything when the store cannot be written, leaving nothing behind', async function () {
    // Its own store directory, which this test breaks.
    const store = { host: 'lb', dir: '/var/backups/runbook/vault' };
    const vault = bedInventory('vault', (env) => (env.vars.backupStore = store));
    await withWorker(taskQueue, async () => {
      // The store's directory is a file: install -d fails on lb.
      // An earlier test's backups of vault may have made it a directory already.
      await onHost('lb', ['sh', '-c', 'rm -rf -- "$1" && mkdir -p "${1%/*}" && : > "$1"', 'block', store.dir]);
      try {
        const handle = await startTestRun(taskQueue, { runbook: 'backup', env: 'vault' });
        const { failure, result } = await failed(handle.result());
        assert.equal(failure.type, FailureType.RunbookCompensated);
        assert.match(result.progress.reason ?? '', /vault\/lb: .*install.* exited with 1/);
        assert.deepEqual(
          result.progress.compensations.map((c) => c.status),
          ['done'],
        );
        assert.equal((await onHost('db', ['pgrep', '-f', '[p]g_dump'], [0, 1])).exitCode, 1, 'no pg_dump left on db');
      } finally {
        await onHost('lb', ['rm', '-f', '/var/backups/runbook/vault']);
      }
    }).finally(() => vault.remove());
  });
});
