// The worker's metrics as the attacker would shape them, with the stock `temporal` CLI: a run
// whose input names a 3 KB environment once became a series of its own, labelled with the
// sender's text; an execution anyone tags WAITING_APPROVAL was counted as a run waiting at a
// gate. Labels now come only from what the worker checked, and gates only from its own runs;
// a run terminated mid-run by hand is counted as one a person must look at.
import { strict as assert } from 'node:assert';
import { freePort } from '../dev/dev-server';
import { newRunId } from '../src/run-id';
import { approvalSignal } from '../common/shared';
import { atGate, startTestRun, testClient, uniqueQueue, waitForProgress } from './helpers';
import { scrape, total, type Sample } from './cluster/prometheus';
import { startWorkerProcess, type WorkerProcess } from './worker-process';
import { temporalCli, temporalStart } from './attacker/stock-cli';

async function until(what: string, address: string, ok: (s: Sample[]) => boolean): Promise<Sample[]> {
  const deadline = Date.now() + 30_000;
  let last: Sample[] = [];
  while (Date.now() < deadline) {
    last = await scrape(address);
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  const ours = last.filter((s) => s.name.startsWith('runbook_'));
  throw new Error(`metrics never showed ${what}; runbook_* samples: ${JSON.stringify(ours).slice(0, 3000)}`);
}

describe("the worker's metrics carry only what it checked", function () {
  this.timeout(180_000);
  const taskQueue = uniqueQueue('labels');
  const smoke = { runbook: 'smoke', env: 'test' };
  let address: string;
  let worker: WorkerProcess | undefined;
  before(async function () {
    address = `127.0.0.1:${await freePort()}`;
    worker = await startWorkerProcess(taskQueue, { RUNBOOK_METRICS_ADDRESS: address, RUNBOOK_METRICS_INTERVAL: '1' });
  });
  after(async function () {
    await worker?.kill('SIGTERM');
  });

  it('counts a run whose input names a 3 KB environment under "unknown", not under its name', async function () {
    const refused = newRunId('smoke', 'test');
    const env = `e${'x'.repeat(3000)}`;
    await temporalStart(taskQueue, 'smoke', refused, { runbook: 'smoke', env, params: {}, initiator: 'eve' });
    const client = await testClient();
    await client.workflow
      .getHandle(refused)
      .result()
      .catch(() => undefined);
    const unknown = { runbook: 'unknown', env: 'unknown' };
    const samples = await until(
      'the refused run',
      address,
      (s) => total(s, 'runbook_runs_started_total', unknown) >= 1,
    );
    assert.ok(total(samples, 'runbook_runs_ended_total', { ...unknown, outcome: 'REFUSED' }) >= 1);
    const longest = Math.max(...samples.flatMap((s) => Object.values(s.labels).map((v) => v.length)));
    assert.ok(longest < 200, `a label of ${longest} characters`);
  });

  it('counts only its own runs as waiting at a gate, not executions anyone tagged WAITING_APPROVAL', async function () {
    const client = await testClient();
    const fakes: string[] = [];
    try {
      // Tagged as waiting at a gate, on another task queue and as a workflow type that is no runbook.
      const tags = ['RunbookState="WAITING_APPROVAL"', 'RunbookName="smoke"', 'RunbookEnv="test"'];
      for (const [queue, type] of [
        [`${taskQueue}-elsewhere`, 'smoke'],
        [taskQueue, 'notARunbook'],
      ]) {
        const id = `fake-gate-${fakes.length}-${taskQueue}`;
        fakes.push(id);
        await temporalStart(
          queue,
          type,
          id,
          {},
          tags.flatMap((t) => ['--search-attribute', t]),
        );
      }
      // A real run waiting at its gate is counted; the fakes are not.
      const handle = await startTestRun(taskQueue, smoke);
      await waitForProgress(handle, atGate('go-ahead'));
      const samples = await until('the waiting run', address, (s) => total(s, 'runbook_gates_waiting', smoke) >= 1);
      assert.equal(total(samples, 'runbook_gates_waiting', smoke), 1, 'only the real run waits');
      await handle.signal(approvalSignal, { approver: 'alice', decision: 'approve' });
      await handle.result();
    } finally {
      for (const id of fakes)
        await client.workflow
          .getHandle(id)
          .terminate('test done')
          .catch(() => undefined);
    }
  });

  it('counts a run terminated mid-run by hand as one a person must look at', async function () {
    const before = total(await scrape(address), 'runbook_runs_cut_off', smoke);
    const handle = await startTestRun(taskQueue, smoke);
    await waitForProgress(handle, atGate('go-ahead'));
    await temporalCli(['workflow', 'terminate', '--workflow-id', handle.workflowId, '--reason', 'by hand']);
    await until('the terminated run', address, (s) => total(s, 'runbook_runs_cut_off', smoke) === before + 1);
  });
});
