// The inventory's vars and roles, declared once (src/vars.ts, common/roles.ts): the schema, the
// published schema, the accessor and the docs all come from the declarations.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import Ajv from 'ajv';
import { parse as parseYaml } from 'yaml';
import { hostsWithRole, inventorySchema, parseEnvironment } from '../src/inventory';
import { requiredVar, VARS, type VarDeclaration } from '../src/vars';
import { ROLE_NAMES } from '../common/roles';
import { SELECTOR } from '../common/runbook-params';
import { FailureType } from '../common/failure-types';
import { withInventoryReference } from '../cli/docs';
import { projectRoot } from '../src/config';

const base = `
environment: prod
hosts:
  web-1: { address: 10.0.0.5, roles: [web] }
  web-2: { address: 10.0.0.6, roles: [web, lb] }
  db-1: { address: 10.0.0.7, roles: [db] }
`;
const withVars = (vars: string) => parseEnvironment(`${base}vars: ${vars}\n`, 'prod.yaml');

describe('inventory vars, declared once', function () {
  it("makes the schema's vars from the declarations, and each default passes its own schema", function () {
    const schema = inventorySchema() as { properties: { vars: { properties: object; additionalProperties: boolean } } };
    assert.deepEqual(Object.keys(schema.properties.vars.properties), Object.keys(VARS));
    assert.equal(schema.properties.vars.additionalProperties, false);
    const ajv = new Ajv({ allErrors: true });
    for (const [name, v] of Object.entries(VARS as Record<string, VarDeclaration>)) {
      assert.ok(v.schema.description && v.shape && v.readBy, `${name} is described`);
      if (v.schema.default !== undefined)
        assert.ok(ajv.validate(v.schema, v.schema.default), `${name}'s default: ${ajv.errorsText()}`);
    }
  });

  it('fills in the defaults: a var with a default is always there', function () {
    const { vars } = parseEnvironment(base, 'prod.yaml');
    assert.equal(vars.fleetConcurrency, 10);
    assert.deepEqual(vars.backupRetention, { daily: 7, weekly: 4 });
    assert.deepEqual(withVars('{ backupRetention: { daily: 2 } }').vars.backupRetention, { daily: 2, weekly: 4 });
    const provision = withVars('{ provision: { opsUser: ops, opsPublicKey: /k.pub, packages: [git] } }').vars.provision;
    assert.deepEqual(provision?.openPorts, [22, 80, 443]);
    assert.equal(provision?.databasePasswordSecret, 'dbPassword');
  });

  it('refuses a malformed var when the file is read, saying what it expects', function () {
    const bad: [string, RegExp][] = [
      ['{ appDir: /srv/../etc }', /vars\.appDir: must match pattern .* \(expected absolute path, no `\.\.`\)/],
      ['{ appDir: srv/app }', /vars\.appDir: must match pattern/],
      ['{ appUser: root }', /vars\.appUser: .*\(expected user name, not root\)/],
      ['{ migrate: [] }', /vars\.migrate: must NOT have fewer than 1 items \(expected argv\)/],
      ['{ migrate: "./migrate" }', /vars\.migrate: must be array/],
      ['{ databaseName: "app; drop" }', /vars\.databaseName: must match pattern/],
      ['{ fleetConcurrency: 51 }', /vars\.fleetConcurrency: must be <= 50 \(expected 1-50\)/],
      ['{ alertWebhook: "ftp://x" }', /vars\.alertWebhook: must match pattern/],
      ['{ backupStore: { host: web-1 } }', /vars\.backupStore: must have required property 'dir'/],
      ['{ backupStore: { host: nope, dir: /srv/b } }', /vars\.backupStore\.host names unknown host nope/],
      ['{ backupRetention: { daily: -1 } }', /vars\.backupRetention\.daily: must be >= 0/],
      ['{ provision: { opsUser: ops } }', /vars\.provision: must have required property 'opsPublicKey'/],
      ['{ tlsdir: /etc/nginx/tls }', /vars: unknown key "tlsdir"/],
    ];
    for (const [vars, error] of bad) assert.throws(() => withVars(vars), error, vars);
  });

  it('refuses a backup store directory that is /, relative, or has a . or .. part', function () {
    for (const dir of ['/', '//', 'srv/b', '/../etc', '/srv/../etc', '/srv/./b', '/srv/..'])
      assert.throws(() => withVars(`{ backupStore: { host: db-1, dir: "${dir}" } }`), /backupStore\.dir/, dir);
    for (const dir of ['/srv/backups', '/var/backups/runbook/local/', '/srv/.hidden/b'])
      assert.equal(withVars(`{ backupStore: { host: db-1, dir: "${dir}" } }`).vars.backupStore?.dir, dir);
  });

  it('reads a var the caller needs with its type, or fails naming it as an inventory error', function () {
    const env = withVars('{ migrate: [./migrate, --quiet], appDir: /srv/app }');
    const argv: string[] = requiredVar(env, 'migrate');
    assert.deepEqual(argv, ['./migrate', '--quiet']);
    assert.equal(requiredVar(env, 'appDir'), '/srv/app');
    assert.throws(
      () => requiredVar(env, 'dbAdmin'),
      (err: unknown) =>
        err instanceof ApplicationFailure &&
        err.nonRetryable &&
        err.type === FailureType.BadInventory &&
        err.message === 'prod: vars.dbAdmin must be set',
    );
  });

  it('publishes a schema an editor can use: the demo inventory passes it, a misspelt var does not', function () {
    const published = JSON.parse(fs.readFileSync(path.join(projectRoot, 'docs', 'inventory.schema.json'), 'utf8'));
    const validate = new Ajv({ allErrors: true }).compile(published);
    const local = parseYaml(fs.readFileSync(path.join(projectRoot, 'inventory', 'local.yaml'), 'utf8')) as {
      vars: object;
    };
    assert.ok(validate(local), JSON.stringify(validate.errors));
    assert.ok(!validate({ ...local, vars: { ...local.vars, apport: 8000 } }));
    assert.match(fs.readFileSync(path.join(projectRoot, 'inventory', 'local.yaml'), 'utf8'), /\$schema=/);
  });

  it('generates the vars table of docs/inventory.md from the declarations', function () {
    const page = fs.readFileSync(path.join(projectRoot, 'docs', 'inventory.md'), 'utf8');
    const changed = {
      ...VARS,
      appPort: { ...VARS.appPort, schema: { ...VARS.appPort.schema, default: 9000 }, readBy: 'someone' },
    };
    assert.match(withInventoryReference(page), /\| `appPort` \| 1-65535, `8000` \| deploys, /);
    assert.match(withInventoryReference(page, changed), /\| `appPort` \| 1-65535, `9000` \| someone \|/);
    for (const name of Object.keys(VARS)) assert.match(page, new RegExp(`^\\| \`${name}\` \\|`, 'm'), name);
  });
});

describe('inventory roles, declared once', function () {
  it('are the schema, the selector and the helper', function () {
    const schema = inventorySchema() as {
      properties: { hosts: { additionalProperties: { properties: { roles: { items: { enum: string[] } } } } } };
    };
    assert.deepEqual(schema.properties.hosts.additionalProperties.properties.roles.items.enum, ROLE_NAMES);
    assert.deepEqual(ROLE_NAMES, ['web', 'db', 'lb', 'backup']);
    for (const role of ROLE_NAMES) assert.ok(SELECTOR.test(`role:${role}`));
    assert.ok(!SELECTOR.test('role:cache'));
    assert.throws(() => parseEnvironment(base.replace('roles: [db]', 'roles: [cache]'), 'prod.yaml'), /roles\.0/);
    const env = parseEnvironment(base, 'prod.yaml');
    assert.deepEqual(hostsWithRole(env, 'web'), ['web-1', 'web-2']);
    assert.deepEqual(hostsWithRole(env, 'lb'), ['web-2']);
    assert.deepEqual(hostsWithRole(env, 'backup'), []);
  });
});
