// rotate-db-password puts a secret's value into every web host's .env and onto PostgreSQL, so
// it takes only a secret the inventory marks `use: database-password`. Asked for an API token,
// it is refused by the CLI's check, by the worker's (whatever a client sent) and by the activity
// that would write it, before the value is read.
import { strict as assert } from 'node:assert';
import { prepareRun } from '../src/start';
import { parseEnvironment } from '../src/inventory';
import { decideRunRules } from '../activities/policy';
import { checkNewPassword } from '../activities/db-password';

const NOT_MARKED = /secret apiToken of secret-use is not marked as a database password \(.*marked: dbPassword\)/;

describe('rotate-db-password takes only a secret marked as a database password', function () {
  const input = { runbook: 'rotate-db-password', env: 'secret-use', params: { secret: 'apiToken' }, initiator: 'eve' };
  before(() => (process.env.RUNBOOK_TEST_API_TOKEN = 'token-0123456789abcdef0123'));
  after(() => delete process.env.RUNBOOK_TEST_API_TOKEN);

  it('refuses an API token in the CLI, on the worker and in the activity that writes the password', async function () {
    assert.throws(() => prepareRun(input), NOT_MARKED);
    await assert.rejects(decideRunRules({ workflowType: 'rotateDbPassword', input }), NOT_MARKED);
    // Refused before the value is resolved or any host is reached (the hosts here do not exist).
    await assert.rejects(
      checkNewPassword({ env: 'secret-use', secret: 'apiToken', hosts: ['web-blue', 'web-green'] }),
      /secret-use: secret apiToken is not marked as a database password/,
    );
    assert.equal(prepareRun({ ...input, params: { secret: 'dbPassword' } }).input.params.secret, 'dbPassword');
  });

  it('knows one use of a secret: database-password', function () {
    const env = (use: string) =>
      `environment: e\nhosts: { a: { address: 10.0.0.1 } }\nsecrets:\n  s: { env: S, use: ${use} }\n`;
    assert.equal(parseEnvironment(env('database-password'), 'e.yaml').secrets.s.use, 'database-password');
    assert.throws(() => parseEnvironment(env('api-token'), 'e.yaml'), /secrets/);
  });
});
