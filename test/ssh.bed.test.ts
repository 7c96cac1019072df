// The SSH activity layer against the test bed's real hosts (npm run testbed -- up).
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ApplicationFailure } from '@temporalio/common';
import { runCommand } from '../activities/hosts';
import { pool, SshPool } from '../activities/ssh/pool';
import { runOn } from '../activities/ssh/run';
import { resolveTarget } from '../activities/ssh/target';
import { REDACTED } from '../activities/ssh/redact';
import type { HostOutcome } from '../workflows/kernel';
import { testClient, uniqueQueue, withWorker } from './helpers';
import { FailureType } from '../common/failure-types';

const HOSTS = ['web-blue', 'web-green', 'db', 'lb', 'fresh'];
const on = (host: string, argv: string[], extra: Partial<Parameters<typeof runCommand>[0]> = {}) =>
  runCommand({ env: 'local', host, argv, ...extra });

/** Processes of a test-bed host, seen from this machine: pid and command line. */
function hostProcesses(host: string): { pid: number; args: string }[] {
  const pids = execFileSync('ip', ['netns', 'pids', `rbtb-${host}`], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map(Number);
  return pids.flatMap((pid) => {
    try {
      return [{ pid, args: fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim() }];
    } catch {
      return [];
    }
  });
}

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the command to fail');
}

describe('SSH activity layer on the test bed', function () {
  after(() => pool.closeAll());

  it('runs a command on every host in parallel through one activity per host, at most N at a time', async function () {
    const taskQueue = uniqueQueue('fanout');
    const outcomes = (await withWorker(taskQueue, async () =>
      (await testClient()).workflow.execute('commandOnHosts', {
        taskQueue,
        workflowId: taskQueue,
        args: [{ env: 'local', hosts: HOSTS, argv: ['cat', '/etc/hostname'], limit: 3 }],
      }),
    )) as HostOutcome<{ stdout: string }>[];
    assert.deepEqual(
      outcomes.map((o) => [o.host, o.ok, o.value?.stdout.trim()]),
      HOSTS.map((h) => [h, true, h]),
    );
  });

  it('keeps hosts apart: a file written on web-blue is absent on web-green and on this machine', async function () {
    const file = `/tmp/isolation-${randomUUID()}`;
    await on('web-blue', ['touch', file]);
    assert.equal((await on('web-blue', ['test', '-e', file], { okExitCodes: [0, 1] })).exitCode, 0);
    assert.equal((await on('web-green', ['test', '-e', file], { okExitCodes: [0, 1] })).exitCode, 1);
    assert.equal(fs.existsSync(file), false);
    await on('web-blue', ['rm', '-f', file]);
  });

  it('passes hostile strings through argv and cwd as literal data', async function () {
    const hostile = [
      '$(id)',
      '`id`',
      '; rm -rf /',
      'a\nb',
      '-n',
      '--help',
      "it's",
      '"quoted"',
      'héllo wörld ✓',
      '*',
      '$HOME',
      '\\',
      ' ',
      '',
    ];
    const { stdout } = await on('web-blue', ['printf', '%s\\0', ...hostile]);
    assert.deepEqual(stdout.split('\0').slice(0, -1), hostile);

    const dir = `/tmp/odd $(id) 'dir' ${randomUUID()}`;
    await on('web-blue', ['mkdir', '-p', '--', dir]);
    assert.equal((await on('web-blue', ['pwd'], { cwd: dir })).stdout, `${dir}\n`);
    assert.equal(
      (await on('web-blue', ['ls', '-d', '--', '/tmp/odd uid=0(root)*'], { okExitCodes: [0, 2] })).exitCode,
      2,
      'nothing was expanded into a path',
    );
    await on('web-blue', ['rm', '-rf', '--', dir]);
  });

  it('refuses hostile environment and host names before connecting', async function () {
    assert.match((await failureOf(on('web-blue', ['true'], { env: '$(id)' }))).message, /invalid environment name/);
    assert.match(
      (await failureOf(on('web-blue; id', ['true']))).message,
      /no host "web-blue; id" in environment local/,
    );
  });

  it('reports host, command, exit code and stderr; says which failures a retry cannot fix', async function () {
    const failed = await failureOf(on('db', ['sh', '-c', 'echo "disk full" >&2; exit 3']));
    assert.match(failed.message, /^local\/db: 'sh' '-c' 'echo "disk full" >&2; exit 3' exited with 3: disk full$/);
    assert.equal(failed.nonRetryable, false);
    assert.deepEqual((failed.details?.[0] as { exitCode: number }).exitCode, 3);

    const missing = await failureOf(on('db', ['no-such-program']));
    assert.match(missing.message, /exited with 127/);
    assert.equal(missing.nonRetryable, true);
  });

  it('kills the command on the host when it times out', async function () {
    const marker = String(300 + Math.floor(Math.random() * 600));
    const timedOut = await failureOf(on('web-green', ['sleep', marker], { timeoutMs: 1000 }));
    assert.equal(timedOut.type, FailureType.CommandTimedOut);
    assert.deepEqual(
      hostProcesses('web-green').filter((p) => p.args === `sleep ${marker}`),
      [],
    );
  });

  it('redacts known secrets from output and errors', async function () {
    const target = resolveTarget({ env: 'local', host: 'db' });
    const secret = `s3cret-${randomUUID()}`;
    const ok = await runOn(target, ['echo', `password=${secret}`], { secrets: [secret] });
    assert.equal(ok.stdout, `password=${REDACTED}\n`);
    const failed = await failureOf(runOn(target, ['sh', '-c', `echo ${secret} >&2; exit 1`], { secrets: [secret] }));
    assert.ok(!failed.message.includes(secret), failed.message);
    assert.ok(!JSON.stringify(failed.details).includes(secret));
  });

  it('refuses a host whose key does not match known_hosts, and one that is not in it', async function () {
    const target = resolveTarget({ env: 'local', host: 'lb' });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'known-hosts-'));
    const other = fs
      .readFileSync(target.knownHostsPath, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('10.213.0.11 '))!;
    fs.writeFileSync(path.join(dir, 'wrong'), other.replace('10.213.0.11', target.address) + '\n');
    fs.writeFileSync(path.join(dir, 'empty'), '');
    const isolated = new SshPool();
    const mismatch = await failureOf(isolated.get({ ...target, knownHostsPath: path.join(dir, 'wrong') }));
    assert.equal(mismatch.type, 'HostKeyMismatch');
    assert.equal(mismatch.nonRetryable, true);
    const unknown = await failureOf(isolated.get({ ...target, knownHostsPath: path.join(dir, 'empty') }));
    assert.equal(unknown.type, 'UnknownHostKey');
    await isolated.closeAll();
  });

  it('reuses one connection per host, and reconnects after its sshd session is killed mid-command', async function () {
    const target = resolveTarget({ env: 'local', host: 'web-green' });
    const first = await pool.get(target);
    await runOn(target, ['true']);
    assert.equal(await pool.get(target), first, 'the same connection serves the next command');

    const running = runOn(target, ['sleep', '30']);
    await new Promise((r) => setTimeout(r, 500));
    const sessions = hostProcesses('web-green').filter((p) => /^sshd: \S+@/.test(p.args));
    assert.ok(
      sessions.length > 0,
      `no sshd session process on web-green: ${JSON.stringify(hostProcesses('web-green'))}`,
    );
    for (const s of sessions) process.kill(s.pid, 'SIGKILL');
    const lost = await failureOf(running);
    assert.equal(lost.type, FailureType.SshConnectionLost);
    assert.equal(lost.nonRetryable, false, 'a lost connection is worth a retry');

    const again = await runOn(target, ['cat', '/etc/hostname']);
    assert.equal(again.stdout.trim(), 'web-green');
    assert.notEqual(await pool.get(target), first, 'a new connection replaced the lost one');
  });

  it('kills the command on the host and leaves no process behind when its activity is cancelled', async function () {
    const taskQueue = uniqueQueue('cancel');
    const marker = String(300 + Math.floor(Math.random() * 600));
    await withWorker(taskQueue, async () => {
      const client = await testClient();
      const handle = await client.workflow.start('longCommand', {
        taskQueue,
        workflowId: taskQueue,
        args: [{ env: 'local', host: 'db', argv: ['sh', '-c', `sleep ${marker}; echo done`] }],
      });
      const deadline = Date.now() + 20_000;
      while (!hostProcesses('db').some((p) => p.args === `sleep ${marker}`)) {
        assert.ok(Date.now() < deadline, 'the command never started on db');
        await new Promise((r) => setTimeout(r, 100));
      }
      await handle.cancel();
      await assert.rejects(handle.result(), /cancel/i);
    });
    const left = hostProcesses('db').filter((p) => p.args.includes(`sleep ${marker}`));
    assert.deepEqual(left, [], 'no process of the cancelled command is left on db');
  });
});
