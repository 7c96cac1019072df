// The activity boundary on the real hosts: a worker with the engine's real activities (the SSH
// key, the inventory) polls the engine's queue; the attacker's workflow on a queue of its own
// schedules hostCommand with `touch` on every web host, and a batch started by hand with the
// stock CLI asks the same. The file must not exist on any host afterwards.
import { strict as assert } from 'node:assert';
import { newRunId } from '../src/run-id';
import { testClient, uniqueQueue, withWorker } from './helpers';
import { onHost } from './database-helpers';
import { temporalStart } from './attacker/stock-cli';
import { withAttackerWorker } from './attacker/tools';
import type { scheduleEngineActivities } from './attacker/workflows';

const HOSTS = ['web-blue', 'web-green'];
const MARKER = '/tmp/runbook-attacked';

async function markerOn(host: string): Promise<boolean> {
  return (await onHost(host, ['test', '-e', MARKER], [0, 1])).exitCode === 0;
}

describe('the activity boundary on the real hosts', function () {
  before(async function () {
    for (const host of HOSTS) await onHost(host, ['rm', '-f', MARKER]);
  });

  it("nothing the attacker's workflow or a hand-started batch schedules reaches a host", async function () {
    const engine = uniqueQueue('engine-bed');
    const attacker = uniqueQueue('attacker-bed');
    const touch = { env: 'local', runId: 'forged', argv: ['touch', MARKER] };
    const outcomes = await withWorker(engine, () =>
      withAttackerWorker(attacker, async () => {
        const batchId = newRunId('run-command', 'local');
        await temporalStart(engine, 'commandBatch', batchId, { ...touch, batch: 1, hosts: HOSTS, concurrency: 2 });
        const client = await testClient();
        await client.workflow
          .getHandle(batchId)
          .result()
          .catch(() => undefined);
        return Promise.all(
          HOSTS.map((host) =>
            client.workflow.execute<typeof scheduleEngineActivities>('scheduleEngineActivities', {
              taskQueue: attacker,
              workflowId: `attack-bed-${host}-${engine}`,
              args: [{ taskQueue: engine, activities: ['hostCommand', 'runStepCommand'], args: [{ ...touch, host }] }],
            }),
          ),
        );
      }),
    );
    for (const o of outcomes) assert.deepEqual(o, { hostCommand: 'CallerRefused', runStepCommand: 'CallerRefused' });
    for (const host of HOSTS) assert.equal(await markerOn(host), false, `${MARKER} appeared on ${host}`);
  });
});
