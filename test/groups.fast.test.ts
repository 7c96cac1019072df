// Groups of hosts as an ops team writes them (nested, free-form names), the vars a host ends up
// with (environment < groups < host), and the `--hosts` selector over hosts, groups, roles and
// globs with exclusions.
import { strict as assert } from 'node:assert';
import { groupsOf, hostVars, InventoryError, parseEnvironment } from '../src/inventory';
import { selectHostNames, SelectorError } from '../common/host-selector';
import { SELECTOR } from '../common/runbook-params';
import { findRunbook } from '../src/runbooks';

const FLEET = `
environment: fleet
hosts:
  web-01: { address: 10.0.0.1, roles: [web] }
  web-02: { address: 10.0.0.2, roles: [web] }
  web-07: { address: 10.0.0.7, roles: [web], vars: { healthPath: /seven } }
  web-eu-1: { address: 10.0.1.1, roles: [web] }
  db-1: { address: 10.0.2.1, roles: [db] }
  lb-1: { address: 10.0.3.1, roles: [lb] }
groups:
  eu: { hosts: [web-eu-1], vars: { healthPath: /eu } }
  us: { hosts: [web-01, web-02, web-07], vars: { healthPath: /us } }
  canary: { hosts: [web-02], vars: { healthPath: /canary } }
  frontends: { children: [eu, us], hosts: [lb-1], vars: { healthPath: /front } }
  lbs: { hosts: [lb-1], vars: { healthPath: /lb } }
  everything: { children: [frontends], hosts: [db-1] }
vars: { healthPath: /env }
`;

const fleet = () => parseEnvironment(FLEET, 'fleet.yaml');

function problems(text: string): string[] {
  try {
    parseEnvironment(text, 'fleet.yaml');
  } catch (err) {
    assert.ok(err instanceof InventoryError, String(err));
    return err.problems;
  }
  return [];
}

describe('inventory groups', function () {
  it('reads nested groups: a group has its children’s hosts, in inventory order', function () {
    const env = fleet();
    assert.deepEqual(selectHostNames(env, 'frontends'), ['web-01', 'web-02', 'web-07', 'web-eu-1', 'lb-1']);
    assert.deepEqual(selectHostNames(env, 'everything'), Object.keys(env.hosts));
    assert.deepEqual(groupsOf(env, 'web-02'), ['canary', 'everything', 'frontends', 'us']);
    assert.deepEqual(groupsOf(env, 'db-1'), ['everything']);
  });

  it('gives a host the environment’s vars, under its groups’ (parents first, then by name), then its own', () => {
    const env = fleet();
    assert.equal(hostVars(env, 'db-1').healthPath, '/env');
    // frontends (depth 1) and lbs (depth 0) both hold lb-1: the child wins over the top group.
    assert.deepEqual(groupsOf(env, 'lb-1'), ['everything', 'lbs', 'frontends']);
    assert.equal(hostVars(env, 'lb-1').healthPath, '/front');
    assert.equal(hostVars(env, 'web-eu-1').healthPath, '/eu');
    // As Ansible: canary is a top group (depth 0), under frontends (1), under us (2).
    assert.equal(hostVars(env, 'web-02').healthPath, '/us');
    assert.equal(hostVars(env, 'web-07').healthPath, '/seven');
    // A group's vars fill in no defaults of their own; the environment's are untouched.
    assert.deepEqual(env.groups.canary.vars, { healthPath: '/canary' });
    assert.deepEqual(env.groups.everything.vars, {});
    assert.equal(env.vars.healthPath, '/env');
    assert.equal(hostVars(env, 'web-02').appPort, 8000);
  });

  it('checks group and host vars against the same declarations as the environment’s', function () {
    const bad = FLEET.replace('vars: { healthPath: /us }', 'vars: { healthPath: 42, colour: blue }')
      .replace('vars: { healthPath: /seven }', 'vars: { healthPath: nope }')
      .replace('vars: { healthPath: /canary }', 'vars: { appPort: 8300 }');
    const found = problems(bad).join('\n');
    assert.match(found, /groups\.us\.vars\.healthPath: must be string/);
    assert.match(found, /groups\.us\.vars: unknown key "colour" \(a group or host may set healthPath/);
    assert.match(found, /hosts\.web-07\.vars\.healthPath: must match pattern .* \(expected `\/\.\.\.`\)/);
    // A var read once for the environment is not a group's to set: it would be silently ignored.
    assert.match(found, /groups\.canary\.vars: unknown key "appPort" \(a group or host may set healthPath/);
  });

  it('refuses unknown hosts and children, cycles and a group named like a host, every one at once', function () {
    const bad =
      FLEET.replace('hosts: [web-eu-1]', 'hosts: [web-eu-1, web-99]')
        .replace('children: [eu, us]', 'children: [eu, us, asia, everything]')
        .replace('  everything:', '  web-01: { hosts: [db-1] }\n  everything:') + '\n';
    const found = problems(bad);
    assert.equal(found.length, 4, found.join('\n'));
    assert.match(found.join('\n'), /group eu names unknown hosts: web-99/);
    assert.match(found.join('\n'), /group frontends names unknown groups as children: asia \(groups: /);
    assert.match(found.join('\n'), /groups form a cycle: frontends → everything → frontends/);
    assert.match(found.join('\n'), /group web-01 has the name of a host/);
  });

  it('refuses a group named role and names that are not names', function () {
    assert.ok(
      problems(FLEET.replace('  canary:', '  role:')).some((p) => /groups: property name must be valid/.test(p)),
    );
    assert.ok(problems(FLEET.replace('  canary:', '  Canary:')).length > 0);
  });
});

describe('the --hosts selector', function () {
  const env = fleet();
  const select = (s: string) => selectHostNames(env, s);

  it('keeps role:<role> and plain lists as they were (the order given)', function () {
    assert.deepEqual(select('role:web'), ['web-01', 'web-02', 'web-07', 'web-eu-1']);
    assert.deepEqual(select('web-07,web-01'), ['web-07', 'web-01']);
    assert.deepEqual(select('db-1'), ['db-1']);
  });

  it('takes groups, roles by bare name, globs, unions with , or :, and ! exclusions', function () {
    assert.deepEqual(select('us'), ['web-01', 'web-02', 'web-07']);
    assert.deepEqual(select('web:!web-07'), ['web-01', 'web-02', 'web-eu-1']);
    assert.deepEqual(select('role:web:!web-07'), ['web-01', 'web-02', 'web-eu-1']);
    assert.deepEqual(select('web-0?'), ['web-01', 'web-02', 'web-07']);
    assert.deepEqual(select('web-*,!eu'), ['web-01', 'web-02', 'web-07']);
    assert.deepEqual(select('eu:db-1,lb-*'), ['web-eu-1', 'db-1', 'lb-1']);
    assert.deepEqual(select('frontends:!role:lb:!canary'), ['web-01', 'web-07', 'web-eu-1']);
    assert.deepEqual(select('db-1,everything'), ['db-1', 'web-01', 'web-02', 'web-07', 'web-eu-1', 'lb-1']);
  });

  it('refuses an unknown name, listing what there is; a glob matching nothing; an empty result', function () {
    assert.throws(
      () => select('web,cache'),
      (err: Error) =>
        err instanceof SelectorError &&
        /no host, group or role "cache" \(hosts: web-01, .*; groups: eu, us, canary, frontends, lbs, everything; /.test(
          err.message,
        ) &&
        /; roles: web, db, lb, backup\)$/.test(err.message),
    );
    assert.throws(() => select('role:cache'), /no role "cache" \(roles: web, db, lb, backup\)/);
    assert.throws(() => select('cache-*'), /cache-\* matches no host/);
    assert.throws(() => select('us:!web-0*'), /us:!web-0\* selects no host/);
    assert.throws(() => select('!web-01'), /selects no host/);
    assert.throws(() => select('web,,db'), /has an empty term/);
  });

  it('admits the syntax as a parameter, bounded, with nothing a shell would read', function () {
    for (const ok of ['role:web', 'web-1,web-2', 'web:!web-07', 'web-*', 'web-?,!role:db', 'eu_west:us'])
      assert.ok(SELECTOR.test(ok), ok);
    for (const bad of [
      'role:cache',
      'web;id',
      'web $(id)',
      'web/x',
      '',
      'a,',
      'x'.repeat(64),
      'WEB',
      'a'.concat(',a'.repeat(1000)),
    ])
      assert.ok(!SELECTOR.test(bad), bad);
    // Long and failing, it is still refused at once (one parse only).
    const started = Date.now();
    assert.ok(!SELECTOR.test(`${'role:web,'.repeat(900)}role:web;`));
    assert.ok(Date.now() - started < 500);
  });

  it('is what run-command’s check reads', function () {
    const runbook = findRunbook('run-command');
    assert.ok(runbook?.check);
    const params = { hosts: 'web:!web-07', argv: ['uptime'] };
    assert.equal(runbook.check(env, params), undefined);
    assert.match(String(runbook.check(env, { ...params, hosts: 'nope' })), /^fleet: no host, group or role "nope"/);
  });
});
