// Inventory files: validated with clear errors before anything runs.
import { strict as assert } from 'node:assert';
import { listEnvironments, loadEnvironment, parseEnvironment, expandPath, approvalPolicy } from '../src/inventory';
import { formatDuration, parseDuration } from '../common/duration';

const valid = `
environment: prod
approvals: { required: 1, approvers: [alice], timeout: 30m }
hosts:
  web-1: { address: 10.0.0.5, roles: [web] }
services:
  app: { hosts: [web-1], reload: [systemctl, reload, app] }
`;

describe('inventory', function () {
  it('reads the test environments, with defaults filled in', function () {
    const env = loadEnvironment('test');
    assert.equal(env.environment, 'test');
    assert.equal(env.protected, false);
    assert.equal(env.ssh.user, 'root');
    assert.deepEqual(approvalPolicy(env), { required: 1, approvers: ['alice', 'bob'], timeoutMs: 600_000 });
  });

  it('accepts a valid file and reports each kind of mistake in one line naming the place', function () {
    assert.equal(parseEnvironment(valid, 'prod.yaml').hosts['web-1'].address, '10.0.0.5');
    const cases: [string, RegExp][] = [
      [
        valid.replace('roles: [web]', 'roles: [web], colour: red'),
        /hosts\.web-1\.colour: must be equal to one of the allowed values/,
      ],
      [valid.replace('hosts:', 'hostz: {}\nhosts:'), /unknown key "hostz"/],
      [
        valid.replace('web-1: {', 'Web_1: {').replace('hosts: [web-1]', 'hosts: [Web_1]'),
        /hosts: property name must be valid|must match pattern/,
      ],
      [valid.replace('hosts: [web-1]', 'hosts: [web-9]'), /service app names unknown hosts: web-9/],
      [valid.replace('timeout: 30m', 'timeout: soon'), /approvals\.timeout: expected a duration/],
      [valid.replace('required: 1', 'required: 3'), /approvals\.required is 3 but only 1 approvers/],
      [
        valid.replace('reload: [systemctl, reload, app]', 'reload: "systemctl reload app"'),
        /services\.app\.reload: must be array/,
      ],
      ['environment: [', /not valid YAML/],
    ];
    for (const [text, error] of cases) assert.throws(() => parseEnvironment(text, 'prod.yaml'), error);
    assert.throws(() => parseEnvironment(valid, 'prod.yaml', 'staging'), /says environment "prod", expected "staging"/);
  });

  it('loads every environment of the demo inventory and the test fixtures', function () {
    for (const name of listEnvironments()) assert.equal(loadEnvironment(name).environment, name);
  });

  it('refuses a protected environment that takes typed names: four eyes are two signed keys', function () {
    assert.throws(
      () => parseEnvironment(`protected: true\nidentity: typed\n${valid}`, 'prod.yaml'),
      /prod.yaml: a protected environment takes signed identity only .*remove "identity: typed"/,
    );
    assert.equal(parseEnvironment(`protected: false\nidentity: typed\n${valid}`, 'prod.yaml').identity, 'typed');
    assert.equal(parseEnvironment(`protected: true\n${valid}`, 'prod.yaml').identity, 'signed');
  });

  it('reads the bounds on parameters, with defaults, and refuses bounds that cannot hold', function () {
    assert.deepEqual(parseEnvironment(valid, 'prod.yaml').bounds, { rollbackWindow: { min: '1m', max: '1d' } });
    const bounded = `bounds: { retentionFloor: { daily: 3 }, rollbackWindow: { min: 5m } }\n${valid}`;
    assert.deepEqual(parseEnvironment(bounded, 'prod.yaml').bounds, {
      retentionFloor: { daily: 3 },
      rollbackWindow: { min: '5m', max: '1d' },
    });
    for (const [bounds, error] of [
      ['{ rollbackWindow: { min: 2d } }', /bounds.rollbackWindow.min 2d is longer than its max 1d/],
      ['{ rollbackWindow: { max: soon } }', /bounds.rollbackWindow.max: expected a duration/],
      ['{ retentionFloor: { daily: -1 } }', /bounds.retentionFloor.daily: must be >= 0/],
      ['{ floor: 3 }', /bounds: unknown key "floor"/],
    ] as const) {
      assert.throws(() => parseEnvironment(`bounds: ${bounds}\n${valid}`, 'prod.yaml'), error);
    }
  });

  it('refuses unknown and hostile environment names', function () {
    assert.throws(
      () => loadEnvironment('nowhere'),
      /unknown environment "nowhere" \(known: local, locking, secret-use, test, two-eyes/,
    );
    for (const name of ['../etc/passwd', '$(id)', 'prod; rm -rf /', '-rf', 'PROD']) {
      assert.throws(() => loadEnvironment(name), /invalid environment name/);
    }
  });

  it('expands ~ and ${RUNBOOK_CACHE_DIR} in paths, and names an unset variable', function () {
    assert.match(
      expandPath('${RUNBOOK_CACHE_DIR}/testbed/ssh/key'),
      /\/runbook\/testbed\/ssh\/key$|\/testbed\/ssh\/key$/,
    );
    assert.equal(expandPath('~/x'), `${process.env.HOME}/x`);
    assert.throws(() => expandPath('${NO_SUCH_VARIABLE_HERE}/x'), /uses \$\{NO_SUCH_VARIABLE_HERE\}, which is not set/);
  });

  it('parses durations as operators type them', function () {
    assert.equal(parseDuration('90s'), 90_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('500ms'), 500);
    for (const bad of ['', '10', 'ten minutes', '-5m', '0s', '5m; id']) assert.throws(() => parseDuration(bad));
  });

  it('shows durations in the units operators type, and reads back what it shows', function () {
    const shown = [12, 3_400, 125_000, 3_720_000, 5 * 86_400_000].map(formatDuration);
    assert.deepEqual(shown, ['12ms', '3.4s', '2m5s', '1h2m', '5d']);
    for (const text of ['2m5s', '1h2m', '5d']) assert.equal(formatDuration(parseDuration(text)), text);
    assert.equal(formatDuration(-1), '?');
  });

  it('types the shared vars, with their defaults in one place, and refuses a malformed one', function () {
    const { vars } = parseEnvironment(valid, 'prod.yaml');
    assert.deepEqual(
      { appPort: vars.appPort, healthPath: vars.healthPath, domains: vars.domains, acmeWebroot: vars.acmeWebroot },
      { appPort: 8000, healthPath: '/health', domains: [], acmeWebroot: '/var/www/letsencrypt' },
    );
    assert.equal(parseEnvironment(`${valid}vars: { appPort: 9000 }`, 'prod.yaml').vars.appPort, 9000);
    const bad: [string, RegExp][] = [
      ['{ appPort: "8000" }', /vars\.appPort: must be integer/],
      ['{ appPort: 70000 }', /vars\.appPort: must be <= 65535/],
      ['{ healthPath: health }', /vars\.healthPath: must match/],
      ['{ domains: ["app.example.com; id"] }', /vars\.domains\.0: must match/],
      ['{ domains: ["-x.example.com"] }', /vars\.domains\.0: must match/],
      ['{ appport: 8000 }', /vars: unknown key "appport" \(the vars runbooks read: docs\/inventory.md#vars\)/],
    ];
    for (const [vars, error] of bad) assert.throws(() => parseEnvironment(`${valid}vars: ${vars}`, 'prod.yaml'), error);
  });
});
