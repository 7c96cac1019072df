// run-command's `--hosts` over the inventory's groups, on the dev server against stub activities:
// the run acts on the hosts the selector names (the real selectHosts reads the inventory), and its
// dry run lists them.
import assert from 'node:assert/strict';
import type { RunResult } from '../common/shared';
import { bedInventory, type BedInventory } from './bed-inventory';
import { startTestRun, uniqueQueue, withWorker } from './helpers';
import { dryRunOn, type ActivityCall } from './plan-facts';
import { stubActivities } from './stub-activities';

const ENV = 'groups';

describe('run-command --hosts with a group selector (stub activities)', function () {
  let inventory: BedInventory;
  before(function () {
    inventory = bedInventory(ENV, (env) => {
      env.hosts['web-07'] = { address: '10.213.0.17', roles: ['web'] };
      env.groups = {
        canary: { hosts: ['web-blue', 'web-07'], children: [], vars: {} },
        frontends: { hosts: ['lb'], children: ['canary'], vars: {} },
      };
    });
  });
  after(() => inventory.remove());

  const req = { env: ENV, runbook: 'run-command', params: { hosts: 'frontends:!web-07', argv: ['uptime'] } };

  it('runs on the group’s hosts without the excluded one, in inventory order', async function () {
    const calls: ActivityCall[] = [];
    const queue = uniqueQueue('host-groups');
    const result = await withWorker(
      queue,
      async () => (await startTestRun(queue, req)).result() as Promise<RunResult>,
      stubActivities(calls),
    );
    assert.equal(result.state, 'COMPLETED', result.progress.reason);
    const ran = calls.filter((c) => c.type === 'hostCommand').map((c) => (c.input as { host: string }).host);
    assert.deepEqual(ran.sort(), ['lb', 'web-blue']);
    const selected = calls.find((c) => c.type === 'selectHosts')?.result as { hosts: string[] };
    assert.deepEqual(selected.hosts, ['web-blue', 'lb']);
  });

  it('lists the selected hosts in its dry run', async function () {
    const planned: ActivityCall[] = [];
    const queue = uniqueQueue('host-groups-dry');
    const plan = await withWorker(queue, () => dryRunOn(queue, req), stubActivities(planned));
    const step = plan.plan.find((i) => 'step' in i && i.step === 'select the hosts');
    assert.ok(step && 'does' in step, JSON.stringify(plan.plan));
    assert.match(step.does, /frontends:!web-07: .*: 2 hosts, web-blue, lb$/);
    assert.ok(!planned.some((c) => c.type === 'hostCommand'));
  });

  it('refuses an unknown group before it starts, saying what there is', async function () {
    const queue = uniqueQueue('host-groups-unknown');
    await assert.rejects(
      withWorker(queue, () => startTestRun(queue, { ...req, params: { ...req.params, hosts: 'backend' } })),
      /no host, group or role "backend" \(hosts: .*; groups: canary, frontends;/,
    );
  });
});
