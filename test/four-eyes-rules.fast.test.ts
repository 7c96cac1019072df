// The gates a run waits at, as the worker decides them (src/policy.ts decideGates): from the
// runbook's definition and the inventory, never from what its starter asked.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseEnvironment, type Environment } from '../src/inventory';
import { decideGates, decidePolicy } from '../src/policy';
import { findRunbook, RUNBOOKS, type RunbookSpec } from '../src/runbooks';
import { RELEASE_STEPS } from '../common/step-names';
import { BACKUP_STEPS } from '../runbooks/backup/definition';
import { CANARY_GATE } from '../common/fleet-plan';
import { prepareSchedule } from '../src/schedules';

const HOSTS = 'hosts:\n  web-1: { address: 10.0.0.5, roles: [web] }\n  web-2: { address: 10.0.0.6, roles: [web] }\n';
const env = (protect: boolean, extra = ''): Environment =>
  parseEnvironment(
    `environment: prod\nprotected: ${protect}\n${extra}approvals: { approvers: [alice, bob] }\n${HOSTS}`,
    'prod.yaml',
  );
const spec = (name: string): RunbookSpec => findRunbook(name)!;

describe('four eyes: the gates the worker decides', function () {
  it('on a protected environment, every gate each mutating runbook declares; none elsewhere', function () {
    for (const r of RUNBOOKS.filter((x) => x.mutating)) {
      assert.ok(r.protectedGates.length, `${r.name} declares a gate`);
      assert.deepEqual(decideGates(r, env(true), {}).gates, r.protectedGates, r.name);
      assert.deepEqual(decideGates(r, env(false), {}).gates, [], r.name);
    }
  });

  it('takes --gate as a gate added, never as one removed', function () {
    const deploy = spec('deploy');
    assert.deepEqual(decideGates(deploy, env(false), { gate: true }).gates, [RELEASE_STEPS.switchGate]);
    assert.deepEqual(decideGates(deploy, env(true), { gate: false }).gates, [RELEASE_STEPS.switchGate]);
    const rolling = spec('rolling-deploy');
    assert.deepEqual(decideGates(rolling, env(true), { gate: false }).gates, [CANARY_GATE]);
    // Asked for by the schedule's own parameters, a gate is not one a co-signature lets it skip.
    assert.deepEqual(decideGates(deploy, env(true), { gate: true }).cosignedSkips, []);
    // And what the request asks of the policy decides none of it.
    const asked = { approvalsRequired: 1, mutating: false };
    const policy = decidePolicy(spec('backup'), env(true), asked, {}).applied;
    assert.deepEqual([policy.gates, policy.cosignedSkips], [[BACKUP_STEPS.gate], [BACKUP_STEPS.gate]]);
  });

  it('takes parameters beyond the bounds as destructive: no co-signature skips their gate', function () {
    const backup = spec('backup');
    const floor = decideGates(backup, env(true), { daily: '0', weekly: '0' });
    assert.deepEqual(floor.gates, [BACKUP_STEPS.gate]);
    assert.deepEqual(floor.cosignedSkips, []);
    assert.deepEqual(floor.beyondBounds, [
      "--daily 0 is below prod's retention floor, 7: retention would delete backups the inventory keeps",
      "--weekly 0 is below prod's retention floor, 4: retention would delete backups the inventory keeps",
    ]);
    // The floor is the inventory's own retention unless bounds say otherwise.
    const kept = 'vars: { backupRetention: { daily: 2, weekly: 1 } }\n';
    assert.deepEqual(decideGates(backup, env(true, kept), { daily: '2', weekly: '1' }).beyondBounds, []);
    const bounded = 'bounds: { retentionFloor: { daily: 1 } }\n';
    assert.deepEqual(decideGates(backup, env(true, bounded), { daily: '1', weekly: '4' }).beyondBounds, []);

    const deploy = spec('deploy');
    const short = decideGates(deploy, env(true), { ref: 'v1', 'rollback-window': '1s' });
    assert.match(short.beyondBounds.join(), /--rollback-window 1s is shorter than prod's bound, 1m/);
    assert.deepEqual(short.cosignedSkips, []);
    const long = decideGates(deploy, env(true), { ref: 'v1', 'rollback-window': '2d' });
    assert.match(long.beyondBounds.join(), /--rollback-window 2d is longer than prod's bound, 1d/);
    const within = decideGates(deploy, env(true), { ref: 'v1', 'rollback-window': '10m' });
    assert.deepEqual([within.beyondBounds, within.cosignedSkips], [[], [RELEASE_STEPS.switchGate]]);

    // Elsewhere recorded, not gated: the inventory lets a person act alone there.
    const open = decideGates(backup, env(false), { daily: '0' });
    assert.deepEqual([open.gates, open.beyondBounds.length], [[], 1]);
  });

  it('gates every mutating runbook on a protected environment (the dry run shows these gates)', function () {
    const vars =
      'vars: { provision: { opsUser: ops, opsPublicKey: /ops.pub, packages: [] }, domains: [app.example.org] }';
    const gates = (name: string, params: Record<string, unknown>) =>
      decideGates(spec(name), env(true, `${vars}\n`), params).gates;
    assert.deepEqual(gates('deploy', { ref: 'v1' }), [RELEASE_STEPS.switchGate]);
    assert.deepEqual(gates('backup', {}), [BACKUP_STEPS.gate]);
    assert.deepEqual(gates('rolling-deploy', { ref: 'v1' }), [CANARY_GATE]);
    for (const r of RUNBOOKS.filter((x) => x.mutating && x.name !== 'run-command')) {
      const params = Object.fromEntries(
        Object.entries(r.params)
          .filter(([, p]) => p.required)
          .map(([n]) => [n, sample(n)]),
      );
      if (r.name === 'provision') params.host = 'web-1';
      assert.ok(gates(r.name, params).length, `${r.name} waits at a gate on a protected environment`);
    }
  });
});

describe('four eyes: schedules of a protected environment', function () {
  const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAXGlHn68Q6Mix+URqvMdSIXz0n9Ddg5/zCU0Ki6MZM3';
  const OTHER = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBXGlHn68Q6Mix+URqvMdSIXz0n9Ddg5/zCU0Ki6MZM3';
  let dir: string;
  let previous: string | undefined;
  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'four-eyes-'));
    fs.writeFileSync(
      path.join(dir, 'people.yaml'),
      `people:\n  alice: { keys: ["${KEY}"] }\n  bob: { keys: ["${OTHER}"] }\n`,
    );
    fs.writeFileSync(
      path.join(dir, 'prod.yaml'),
      `environment: prod\nprotected: true\napprovals: { approvers: [alice, bob] }\n${HOSTS}` +
        'vars: { backupStore: { host: web-1, dir: /srv/backups } }\n',
    );
    previous = process.env.RUNBOOK_INVENTORY_DIR;
    process.env.RUNBOOK_INVENTORY_DIR = [dir, previous].filter(Boolean).join(':');
  });
  after(function () {
    process.env.RUNBOOK_INVENTORY_DIR = previous;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("creates a gated runbook's schedule paused until another approver co-signs it; a read-only one runs", function () {
    const schedule = (runbook: string) =>
      prepareSchedule({ runbook, env: 'prod', params: {}, initiator: 'alice', cron: '0 2 * * *' }, 'q').options.state;
    assert.deepEqual(schedule('backup'), {
      paused: true,
      note:
        'backup on prod cron 0 2 * * * (UTC), created by alice; ' +
        'paused until another approver co-signs it: runbook schedule approve backup-prod --as <approver>',
    });
    assert.equal(schedule('health-check')?.paused, undefined);
  });
});

function sample(name: string): string {
  return name === 'database' ? 'runbook_previous_0123456789ab' : name === 'secret' ? 'dbPassword' : 'v1';
}
