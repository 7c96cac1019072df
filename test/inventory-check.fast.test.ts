// `runbook inventory check` reports every error of every environment at once: an operator
// fixes an inventory in one pass, not one run refused per mistake.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inventoryProblems } from '../src/inventory';
import { projectRoot } from '../src/config';

const GOOD = 'environment: good\nhosts: { web-1: { address: 10.0.0.1, roles: [web] } }\n';
// Two schema errors: an unknown var and a bad role.
const SCHEMA =
  'environment: shapes\nhosts: { web-1: { address: 10.0.0.1, roles: [wizard] } }\nvars: { colour: blue }\n';
// Three rule errors past the schema: a service on an unknown host, too few approvers, a bad timeout.
const RULES =
  'environment: rules\nhosts: { web-1: { address: 10.0.0.1, roles: [web] } }\n' +
  'services: { app: { hosts: [web-9] } }\n' +
  'approvals: { required: 3, approvers: [alice], timeout: soon }\n';

function runbook(args: string[], inventory: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [path.join(projectRoot, 'dist', 'cli', 'main.js'), ...args],
      { env: { ...process.env, RUNBOOK_INVENTORY_DIR: inventory }, encoding: 'utf8' },
      (err, stdout) => resolve({ code: err ? Number(err.code) : 0, stdout }),
    ),
  );
}

describe('runbook inventory check', function () {
  this.timeout(60_000);
  let dir: string;
  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inventory-check-'));
    fs.writeFileSync(path.join(dir, 'good.yaml'), GOOD);
    fs.writeFileSync(path.join(dir, 'shapes.yaml'), SCHEMA);
    fs.writeFileSync(path.join(dir, 'rules.yaml'), RULES);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lists each problem of each environment, not the first', function () {
    const { environments, problems } = inventoryProblems([dir]);
    assert.deepEqual(environments, ['good', 'rules', 'shapes']);
    const of = (env: string) => problems.filter((p) => p.includes(`${env}.yaml`));
    assert.equal(of('good').length, 0);
    assert.equal(of('shapes').length, 2, of('shapes').join('\n'));
    assert.ok(of('shapes').some((p) => /unknown key "colour"/.test(p)));
    assert.ok(of('shapes').some((p) => /roles/.test(p)));
    assert.equal(of('rules').length, 3, of('rules').join('\n'));
    assert.ok(of('rules').some((p) => /service app names unknown hosts: web-9/.test(p)));
    assert.ok(of('rules').some((p) => /approvals.required is 3 but only 1 approvers/.test(p)));
    assert.ok(of('rules').some((p) => /approvals.timeout/.test(p)));
  });

  it('prints them, exits 2, and says so in JSON; a clean inventory exits 0', async function () {
    const ran = await runbook(['inventory', 'check'], dir);
    assert.equal(ran.code, 2);
    assert.equal(ran.stdout.trim().split('\n').length, 6, ran.stdout);
    assert.match(ran.stdout, /3 environment\(s\) in .*: 5 problem\(s\)/);
    const json = JSON.parse((await runbook(['inventory', 'check', '--json'], dir)).stdout);
    assert.equal(json.problems.length, 5);
    fs.rmSync(path.join(dir, 'shapes.yaml'));
    fs.rmSync(path.join(dir, 'rules.yaml'));
    const clean = await runbook(['inventory', 'check'], dir);
    assert.deepEqual([clean.code, clean.stdout.trim()], [0, `1 environment(s) in ${dir}: no problems`]);
  });
});

// Groups' mistakes are listed with the rest: unknown hosts and children, a cycle, a bad var.
const GROUPS =
  'environment: groups\nhosts: { web-1: { address: 10.0.0.1, roles: [web] } }\n' +
  'services: { app: { hosts: [web-9] } }\n' +
  'groups:\n' +
  '  eu: { hosts: [web-1, web-2], children: [asia] }\n' +
  '  a: { children: [b] }\n' +
  '  b: { children: [a] }\n';

describe('runbook inventory check, with groups', function () {
  this.timeout(60_000);
  let dir: string;
  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inventory-check-groups-'));
    fs.writeFileSync(path.join(dir, 'groups.yaml'), GROUPS);
    fs.writeFileSync(
      path.join(dir, 'vars.yaml'),
      GOOD.replace('good', 'vars') + 'groups: { x: { vars: { healthPath: health } } }\n',
    );
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lists every group problem of every environment with the others', async function () {
    const { problems } = inventoryProblems([dir]);
    const all = problems.join('\n');
    assert.equal(problems.length, 5, all);
    assert.match(all, /groups\.yaml: service app names unknown hosts: web-9/);
    assert.match(all, /groups\.yaml: group eu names unknown hosts: web-2/);
    assert.match(all, /groups\.yaml: group eu names unknown groups as children: asia/);
    assert.match(all, /groups\.yaml: groups form a cycle: a → b → a/);
    assert.match(all, /vars\.yaml: groups\.x\.vars\.healthPath: must match pattern .* \(expected `\/\.\.\.`\)/);
    const ran = await runbook(['inventory', 'check'], dir);
    assert.equal(ran.code, 2);
    assert.match(ran.stdout, /2 environment\(s\) in .*: 5 problem\(s\)/);
  });
});
