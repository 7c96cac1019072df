// An alarm firing mid-deploy undoes it, on the test bed's Prometheus. The environment is the
// bed's own (inventory/local.yaml) under another name, with one alarm on a series the test
// controls: requests the app answers for a path it does not know (`path="other"`). The test
// asks the live colour for such a path once the deploy has installed the release on the idle
// one; the run reads the alarm firing, stops at its next step and is undone: the old colour
// still serves, and the record names the alarm and the value that fired it.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { colours } from '../activities';
import { projectRoot } from '../src/config';
import { loadEnvironment } from '../src/inventory';
import { prepareRun, startRun } from '../src/start';
import { progressQuery } from '../common/shared';
import { FailureType } from '../common/failure-types';
import { RELEASE_STEPS } from '../common/step-names';
import { served } from './bed-checks';
import { bedInventoryFrom, type BedInventory } from './bed-inventory';
import { testClient, uniqueQueue, waitForProgress, withWorker } from './helpers';
import { until } from './until';
import { vector } from './promql';
import { failed } from './run-ended';

const ENV = 'local-alarmed';
const ALARM = 'unknown-pages';
const QUERY = 'sum(increase(http_requests_total{job="app", path="other"}[15s])) > 0';
const RELEASE = { ref: 'v1.1.0', 'rollback-window': '1s' };

describe('alarms on the test bed: one firing mid-deploy undoes it', function () {
  this.timeout(240_000);
  let inventory: BedInventory | undefined;
  let prometheus: string;

  before(function () {
    inventory = bedInventoryFrom(path.join(projectRoot, 'inventory', 'local.yaml'), ENV, (env) => {
      env.alarms = {
        interval: '1s',
        remediation: [],
        rules: { [ALARM]: { query: QUERY, then: 'undo', unreadableFires: true } },
      };
    });
    prometheus = String(loadEnvironment(ENV).vars.prometheusUrl);
  });
  after(() => inventory?.remove());

  it('stops the deploy at its next step once the alarm fires, and undoes it', async function () {
    const firing = async () => Object.keys(await vector(prometheus, QUERY, 'job')).length > 0;
    // Quiet before the run: no unknown page asked for within the alarm's window.
    await until('the alarm to be quiet', 60_000, async () => !(await firing()) || undefined);
    const before = await colours({ env: ENV });
    const servedBefore = await served();
    const live = loadEnvironment(ENV).hosts[before.live];
    const port = Number(loadEnvironment(ENV).vars.appPort ?? 8000);
    const queue = uniqueQueue('alarms-bed');
    await withWorker(queue, async () => {
      const run = prepareRun({ runbook: 'deploy', env: ENV, params: RELEASE, initiator: 'operator' });
      const { handle, admission } = await startRun(await testClient(), run, queue);
      assert.deepEqual(admission, { admitted: true });
      const installed = RELEASE_STEPS.install(before.idle);
      await waitForProgress(
        handle,
        (p) => p.steps.some((s) => s.name === installed && s.status === 'done'),
        `${installed} to be done`,
      );
      // The trip: pages the app does not know, asked of the live colour until Prometheus sees them.
      await until('the alarm to fire', 30_000, async () => {
        await fetch(`http://${live.address}:${port}/alarm-test-trip`, { signal: AbortSignal.timeout(2000) });
        return (await firing()) || undefined;
      });
      const { failure, result } = await failed(handle, FailureType.RunbookCompensated);
      assert.match(failure.message, new RegExp(`alarm ${ALARM} fired \\(\\d+(\\.\\d+)?\\): stopped before `));
      const p = await handle.query(progressQuery);
      assert.equal(p.state, 'COMPENSATED', p.reason);
      assert.equal(result.state, 'COMPENSATED');
      const [record] = p.alarms ?? [];
      assert.equal(record?.alarm, ALARM);
      assert.equal(record?.query, QUERY);
      assert.equal(record?.outcome, 'undone');
      assert.match(record?.value ?? '', /^\d+(\.\d+)?$/, 'the value that fired it');
      assert.deepEqual(p.leftToUndo, []);
    });
    // The old colour serves, as before the deploy.
    const after = await colours({ env: ENV });
    assert.equal(after.live, before.live);
    assert.deepEqual(await served(), servedBefore);
  });
});
