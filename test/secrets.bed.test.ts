// Resolving an inventory's secret references on the worker: files only the worker may read,
// its environment, a command; and errors that say what is wrong without the value.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { migrationSecrets, resolveSecret, secretValues } from '../activities/secrets';
import { cacheDir } from '../src/config';
import { loadEnvironment, type Environment, type SecretRef } from '../src/inventory';

function envWith(secrets: Record<string, SecretRef>): Environment {
  return { environment: 'secrets-test', secrets } as unknown as Environment;
}

async function refusal(promise: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, String(err));
    return err;
  }
  assert.fail('expected a refusal');
}

describe('secret references resolved on the worker', function () {
  const value = 's3cr3t-value-for-test';
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'secrets-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function secretFile(name: string, mode: number): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, `${value}\n`, { mode });
    fs.chmodSync(file, mode);
    return file;
  }

  it('reads a file only the worker can read (without its trailing newline)', async function () {
    assert.equal(await resolveSecret(envWith({ db: { file: secretFile('ok', 0o600) } }), 'db'), value);
  });

  it('refuses a secret file readable by group or others, saying which file and how to fix it', async function () {
    for (const mode of [0o640, 0o604]) {
      const file = secretFile(`open-${mode.toString(8)}`, mode);
      const failure = await refusal(resolveSecret(envWith({ db: { file } }), 'db'));
      assert.equal(failure.type, 'BadSecret');
      assert.equal(failure.nonRetryable, true);
      assert.ok(
        failure.message.includes(
          `secrets-test: secret db: ${file} is readable or writable by group/others ` +
            `(mode 0${mode.toString(8)}); chmod 600 it`,
        ),
        failure.message,
      );
      assert.ok(!failure.message.includes(value));
    }
  });

  it("reads the worker's environment, and says which variable is missing", async function () {
    process.env.RUNBOOK_TEST_SECRET = value;
    try {
      assert.equal(await resolveSecret(envWith({ api: { env: 'RUNBOOK_TEST_SECRET' } }), 'api'), value);
    } finally {
      delete process.env.RUNBOOK_TEST_SECRET;
    }
    assert.match(
      (await refusal(resolveSecret(envWith({ api: { env: 'RUNBOOK_TEST_SECRET' } }), 'api'))).message,
      /environment has no RUNBOOK_TEST_SECRET/,
    );
  });

  it('runs a command without a shell, takes its output; a failing one is reported without stdout', async function () {
    assert.equal(await resolveSecret(envWith({ vault: { command: ['printf', '%s\\n', value] } }), 'vault'), value);
    // Would print the value if a shell interpreted the argument.
    assert.equal(
      await resolveSecret(envWith({ vault: { command: ['echo', '$(echo hidden)'] } }), 'vault'),
      '$(echo hidden)',
    );
    const failed = await refusal(
      resolveSecret(
        envWith({ vault: { command: ['sh', '-c', `echo ${value}; echo no such entry >&2; exit 3`] } }),
        'vault',
      ),
    );
    assert.match(failed.message, /command sh exited with 3: no such entry/);
    assert.ok(!failed.message.includes(value));
    assert.match(
      (await refusal(resolveSecret(envWith({ vault: { command: ['/nonexistent/vault'] } }), 'vault'))).message,
      /was not found on the worker/,
    );
  });

  it("resolves the test bed's database password from its owner-only file, for migrations to redact", async function () {
    const expected = fs.readFileSync(path.join(cacheDir(), 'testbed', 'secrets', 'db-password'), 'utf8').trim();
    assert.deepEqual(await migrationSecrets(loadEnvironment('local')), [expected]);
  });

  it('names an undefined secret, and resolves only the secrets an environment defines', async function () {
    assert.match((await refusal(resolveSecret(envWith({}), 'dbPassword'))).message, /secret dbPassword is not defined/);
    assert.deepEqual(await secretValues(envWith({}), ['dbPassword']), []);
  });
});
