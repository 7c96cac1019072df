// rotate-db-password on the test bed: a new password (with characters a URL must encode) ends up
// on PostgreSQL and in both web hosts' .env, the app serves with it through the load balancer,
// the old one is refused, and no form of either is readable in the decrypted history. A failure
// at each step that changes something (injected after the step's activity did its work on the
// hosts, the worst case for its undo) puts the old password back everywhere, checked on the
// hosts. Unusable input is refused before anything changes; a protected environment waits for
// approval. The bed is left with the password it had.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { WorkflowHandle } from '@temporalio/client';
import { colours } from '../activities';
import { runOn } from '../activities/ssh/run';
import { resolveTarget } from '../activities/ssh/target';
import { approvalSignal, type RunResult } from '../common/shared';
import { FailureType } from '../common/failure-types';
import { ROTATE_PASSWORD_STEPS as STEPS } from '../common/step-names';
import { cacheDir } from '../src/config';
import { prepareRun } from '../src/start';
import { testActivities } from './activities';
import { appRunning, LB } from './bed-checks';
import { bedEnvironment, bedInventory, type BedInventory } from './bed-inventory';
import { signedDecision, signedInventory } from './identity-keys';
import { sql } from './database-helpers';
import { atGate, startTestRun, uniqueQueue, waitForProgress, withWorker } from './helpers';
import { decodedHistory, readable, recordHistory } from './history-recorder';
import { compensated, failed } from './run-ended';

const ENV = 'local-rotate';
const WEB = ['web-blue', 'web-green'];
const RECORDS = '/var/lib/runbook/rotate-db-password';

type Activities = typeof testActivities;
type Name = keyof Activities;

/** The test worker's activities with `name` failing after it acted (on the hosts `when` picks). */
function failingAfter(name: Name, when: (input: { host?: string }) => boolean = () => true): Activities {
  const real = testActivities[name] as (input: { host?: string }) => Promise<unknown>;
  const failing = async (input: { host?: string }) => {
    const result = await real(input);
    if (when(input)) throw ApplicationFailure.nonRetryable(`injected: ${name} failed after it acted`, 'Injected');
    return result;
  };
  return { ...testActivities, [name]: failing };
}

/** The same, failing before it acts. */
function failingBefore(name: Name): Activities {
  const failing = async () => {
    throw ApplicationFailure.nonRetryable(`injected: ${name} failed before it acted`, 'Injected');
  };
  return { ...testActivities, [name]: failing };
}

/** Whether PostgreSQL lets role app log in with `password`, over TCP from a web host. */
async function passwordWorks(password: string): Promise<boolean> {
  const login = 'IFS= read -r pw; PGPASSWORD=$pw exec psql -X -h "$1" -U app -d app -tAc "select 1"';
  const r = await runOn(resolveTarget({ env: 'local', host: 'web-blue' }), ['sh', '-c', login, 'try', '10.213.0.20'], {
    stdin: `${password}\n`,
    secrets: [password],
    okExitCodes: [0, 2],
  });
  return r.exitCode === 0;
}

/** The password DATABASE_URL carries in the host's .env, decoded, with the file's owner and mode. */
async function envPassword(host: string): Promise<{ password: string; stat: string }> {
  const target = resolveTarget({ env: 'local', host });
  const text = (await runOn(target, ['cat', '--', '/srv/app/.env'])).stdout;
  const line = text.split('\n').find((l) => l.startsWith('DATABASE_URL='));
  assert.ok(line, `${host}: no DATABASE_URL in .env`);
  const stat = (await runOn(target, ['stat', '-c', '%U:%G %a', '--', '/srv/app/.env'])).stdout.trim();
  return { password: decodeURIComponent(new URL(line.slice('DATABASE_URL='.length)).password), stat };
}

/** What the load balancer answers: its status and whether the app reached its database. */
async function throughLb(): Promise<{ status: number; database?: string }> {
  const res = await fetch(LB, { signal: AbortSignal.timeout(5000) });
  const body = (await res.json().catch(() => ({}))) as { database?: string };
  return { status: res.status, database: body.database };
}

/** Files the runs keep on the hosts (copies of a password): none once a run has ended. */
async function keptFiles(): Promise<string[]> {
  const found: string[] = [];
  for (const host of ['db', ...WEB]) {
    const r = await runOn(resolveTarget({ env: 'local', host }), ['find', RECORDS, '-type', 'f'], {
      okExitCodes: [0, 1],
    });
    found.push(
      ...r.stdout
        .split('\n')
        .filter(Boolean)
        .map((f) => `${host}:${f}`),
    );
  }
  return found;
}

describe('rotate-db-password on the test bed', function () {
  this.timeout(300_000);
  const taskQueue = uniqueQueue('rotate');
  let original: string;
  let next: string;
  let secrets: string;
  let inventory: BedInventory;
  let running: Record<string, boolean>;

  const rotate = (secret: string, env = ENV) =>
    startTestRun(taskQueue, { runbook: 'rotate-db-password', env, params: { secret } });

  /** Everything on the old password: PostgreSQL, both .env (as they were), the app through the lb. */
  async function expectPassword(current: string, other: string): Promise<void> {
    assert.equal(await passwordWorks(current), true, 'PostgreSQL takes the current password');
    assert.equal(await passwordWorks(other), false, 'PostgreSQL refuses the other one');
    for (const host of WEB) assert.deepEqual(await envPassword(host), { password: current, stat: 'app:app 600' }, host);
    assert.deepEqual(await throughLb(), { status: 200, database: 'ok' });
    for (const host of WEB) assert.equal(await appRunning(host), running[host], `${host} runs as it did`);
  }

  before(async function () {
    // The test bed is built by the global fixture, so its secrets exist only from here on.
    original = fs.readFileSync(path.join(cacheDir(), 'testbed', 'secrets', 'db-password'), 'utf8').trim();
    // Characters a URL must encode, and some a shell or SQL would read.
    next = `${randomBytes(12).toString('hex')}@:/%?#'"$\`;\\x`;
    secrets = fs.mkdtempSync(path.join(os.tmpdir(), 'rotate-secrets-'));
    const file = (name: string, value: string) => {
      fs.writeFileSync(path.join(secrets, name), `${value}\n`, { mode: 0o600 });
      return { file: path.join(secrets, name) };
    };
    inventory = bedInventory(ENV, (env) => {
      env.secrets.newDbPassword = { ...file('new', next), use: 'database-password' };
      env.secrets.shortPassword = { ...file('short', 'too-short'), use: 'database-password' };
      env.secrets.apiToken = file('token', `token-${randomBytes(12).toString('hex')}`);
    });
    running = Object.fromEntries(await Promise.all(WEB.map(async (h) => [h, await appRunning(h)] as const)));
    await expectPassword(original, next);
  });

  after(async function () {
    try {
      // A failed test must not leave the bed on the new password: the other suites log in with the old.
      if (!(await passwordWorks(original)) || (await envPassword('web-blue')).password !== original) {
        const result = await withWorker(taskQueue, async () => (await rotate('dbPassword')).result());
        assert.equal((result as RunResult).state, 'COMPLETED');
      }
    } finally {
      inventory?.remove();
      if (secrets) fs.rmSync(secrets, { recursive: true, force: true });
    }
  });

  it('refuses an unknown, malformed or missing secret reference before anything runs', function () {
    const start = (params: Record<string, string>) => () =>
      prepareRun({ runbook: 'rotate-db-password', env: ENV, params, initiator: 'operator' });
    assert.throws(start({ secret: 'nope' }), /no secret "nope" in environment local-rotate \(secrets: dbPassword, /);
    assert.throws(start({ secret: 'dbPassword; rm -rf /' }), /--secret .* is not valid/);
    assert.throws(
      start({ secret: 'apiToken' }),
      /secret apiToken of local-rotate is not marked as a database password/,
    );
    assert.throws(start({}), /needs --secret/);
  });

  it('refuses an unusable password at its check, before anything changes', async function () {
    const result = await withWorker(taskQueue, async () => compensated(await rotate('shortPassword')));
    assert.equal(result.progress.steps.find((s) => s.status === 'failed')?.name, STEPS.check('shortPassword'));
    assert.match(result.progress.reason ?? '', /secret shortPassword is not a usable database password: it must be/);
    assert.ok(!JSON.stringify(result).includes('too-short'), 'the value is never shown');
    assert.deepEqual(result.progress.compensations, [], 'nothing had changed');
    await expectPassword(original, next);
  });

  it('refuses a .env that is a symbolic link at its check, before anything changes', async function () {
    const green = resolveTarget({ env: 'local', host: 'web-green' });
    const plant = 'mv /srv/app/.env /srv/app/.env.kept && ln -s /etc/shadow /srv/app/.env';
    await runOn(green, ['sh', '-c', plant]);
    try {
      const result = await withWorker(taskQueue, async () => compensated(await rotate('newDbPassword')));
      assert.equal(result.progress.steps.find((s) => s.status === 'failed')?.name, STEPS.check('newDbPassword'));
      assert.match(result.progress.reason ?? '', /\/srv\/app\/\.env is not a regular file/);
      assert.deepEqual(result.progress.compensations, []);
    } finally {
      await runOn(green, ['mv', '-fT', '/srv/app/.env.kept', '/srv/app/.env']);
    }
    await expectPassword(original, next);
  });

  it('waits for approval on a protected environment; a rejection changes nothing', async function () {
    // Protected, so signed: op starts, bob decides, each with a key of their own.
    const base = bedEnvironment(`${ENV}-gate`, (env) => {
      env.secrets = { ...env.secrets, newDbPassword: { file: path.join(secrets, 'new'), use: 'database-password' } };
    });
    const gated = signedInventory(`${ENV}-gate`, ['op', 'alice', 'bob'], ['alice', 'bob'], 1, base);
    try {
      await withWorker(taskQueue, async () => {
        const handle = await startTestRun(taskQueue, {
          runbook: 'rotate-db-password',
          env: `${ENV}-gate`,
          params: { secret: 'newDbPassword' },
          initiator: 'op',
          signWith: gated.key('op'),
        });
        await waitForProgress(handle, atGate(STEPS.gate), 'the approval gate');
        const rejection = await signedDecision(handle, 'bob', gated.key('bob'), 'reject', 'not during the sale');
        await handle.signal(approvalSignal, rejection);
        const result = await compensated(handle);
        assert.deepEqual(result.progress.compensations, []);
      });
    } finally {
      gated.remove();
    }
    await expectPassword(original, next);
  });

  // Each step from the first that changes something, failed after its activity did its work;
  // the colours are read when the test runs (the suite's other tests may have switched them).
  type Colours = { live: string; idle: string };
  const FAULTS: { at: string; step: (c: Colours) => string; activities: (c: Colours) => Activities }[] = [
    { at: 'writing each .env', step: () => STEPS.writeEnv, activities: () => failingAfter('writeEnvPassword') },
    {
      at: 'setting it on PostgreSQL',
      step: () => STEPS.setOnDatabase,
      activities: () => failingAfter('setDatabasePassword'),
    },
    {
      at: 'restarting the live colour',
      step: (c) => STEPS.restart(c.live),
      activities: (c) => failingAfter('restartAppForPassword', (i) => i.host === c.live),
    },
    {
      at: 'restarting the idle colour',
      step: (c) => STEPS.restart(c.idle),
      activities: (c) => failingAfter('restartAppForPassword', (i) => i.host === c.idle),
    },
    {
      at: 'the check through the load balancer',
      step: () => STEPS.checkThroughLb,
      activities: () => failingAfter('checkHealthThroughLb'),
    },
  ];
  for (const fault of FAULTS) {
    it(`a failure at ${fault.at} puts the old password back everywhere`, async function () {
      const c = await colours({ env: 'local' });
      const result = await withWorker(
        taskQueue,
        async () => compensated(await rotate('newDbPassword')),
        fault.activities(c),
      );
      const failedSteps = result.progress.steps.filter((s) => s.error).map((s) => s.name);
      assert.deepEqual(failedSteps, [fault.step(c)], JSON.stringify(result.progress.steps, null, 1));
      assert.match(result.progress.reason ?? '', /injected/);
      assert.ok(result.progress.compensations.length > 0);
      assert.ok(
        result.progress.compensations.every((u) => u.status === 'done'),
        JSON.stringify(result.progress.compensations),
      );
      assert.deepEqual(result.progress.leftToUndo, []);
      await expectPassword(original, next);
      assert.deepEqual(await keptFiles(), [], 'no copy of a password is left on the hosts');
    });
  }

  it('rotates: the app serves with the new password, the old one is refused, history holds neither', async function () {
    let handle: WorkflowHandle | undefined;
    const result = await withWorker(taskQueue, async () => {
      handle = await rotate('newDbPassword');
      return (await handle.result()) as RunResult;
    });
    assert.equal(result.state, 'COMPLETED', JSON.stringify(result.progress.steps, null, 1));
    await recordHistory(handle!, 'rotate-db-password-completed');
    await expectPassword(next, original);
    const restarts = result.progress.steps.filter((s) => s.name.startsWith('restart the app on'));
    assert.equal(restarts.length, 2, 'one restart step per colour');
    for (const host of WEB) {
      const said = running[host] ? `${host} restarted and healthy` : `${host} is stopped: it reads the new .env`;
      assert.ok(
        restarts.some((s) => s.detail?.startsWith(said)),
        `${said}: ${JSON.stringify(restarts)}`,
      );
    }
    assert.deepEqual(await keptFiles(), [], 'the copies of the previous password are gone');

    const verifier = (await sql("SELECT rolpassword FROM pg_authid WHERE rolname = 'app';", 'postgres')).trim();
    assert.match(verifier, /^SCRAM-SHA-256\$4096:/);
    const text = readable(await decodedHistory(handle!.workflowId));
    for (const [what, value] of [
      ['the new password', next],
      ['the new password, URL-encoded', encodeURIComponent(next)],
      ['the old password', original],
      ["the role's verifier", verifier],
      ["the verifier's stored key", verifier.split('$')[2].split(':')[0]],
    ]) {
      assert.ok(!text.includes(value), `${what} is readable in the decrypted history`);
    }
  });

  it('a failure after the point of no return keeps the new password and says what is left', async function () {
    // Rotating back to the bed's own password, whose last step (removing the copies) fails.
    const c = await colours({ env: 'local' });
    let runId = '';
    const { failure, result } = await withWorker(
      taskQueue,
      async () => {
        const handle = await rotate('dbPassword');
        runId = handle.workflowId;
        return failed(handle, FailureType.RunbookSettledThenFailed);
      },
      failingBefore('forgetPreviousPassword'),
    );
    assert.equal(result.state, 'SETTLED_THEN_FAILED', failure.message);
    assert.deepEqual(result.progress.compensations, [], 'nothing is undone: the new password stands');
    await expectPassword(original, next);
    const f = result.progress.settledFailure!;
    assert.equal(f.failedStep, STEPS.forget);
    const dir = `${RECORDS}/${runId}`;
    const todo = `the copies of the previous password are still on the hosts: remove ${dir} on the db host and on`;
    assert.deepEqual(f.todo, [`${todo} ${c.live}, ${c.idle}`]);
    assert.ok((await keptFiles()).length > 0, 'the copies are there, as the record says');
    for (const host of ['db', ...WEB]) await runOn(resolveTarget({ env: 'local', host }), ['rm', '-rf', '--', dir]);
    assert.deepEqual(await keptFiles(), []);
  });
});
