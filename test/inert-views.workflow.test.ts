// The attacker writes the run's record through the stock `temporal` CLI: a refused decision
// keeps its approver's name as sent, so an escape sequence in it once overwrote the line above
// with a fake "approved by bob", and a Markdown link in it went into the Web UI's details as
// markup. Every view now shows such text inert; `--json` keeps it exactly as sent.
import { strict as assert } from 'node:assert';
import type { RunProgress, RunResult } from '../common/shared';
import { atGate, runbookCli, startTestRun, uniqueQueue, waitForProgress, withWorker } from './helpers';
import { LINK, OVERWRITE, temporalSignal } from './attacker/stock-cli';

const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

describe('what a client sends is shown inert', function () {
  const taskQueue = uniqueQueue('inert');

  it("a refused approver's escape sequence and Markdown link stay text in status, history and the Web UI", async () => {
    await withWorker(taskQueue, async () => {
      const handle = await startTestRun(taskQueue, { runbook: 'smoke', env: 'test' });
      const id = handle.workflowId;
      await waitForProgress(handle, atGate('go-ahead'));
      await temporalSignal(id, 'approval', { approver: OVERWRITE, decision: 'approve' });
      await temporalSignal(id, 'approval', { approver: LINK, decision: 'approve', comment: '\u202egnitset' });
      await waitForProgress(handle, (p) => p.approvals.length === 2, 'the two refusals to be recorded');

      for (const command of ['status', 'history']) {
        const shown = await runbookCli([command, id]);
        assert.equal(shown.code, 0, shown.stderr);
        assert.doesNotMatch(shown.stdout, CONTROL, command);
        assert.match(shown.stdout, /! REFUSED approve by · approved by bob at go-ahead at go-ahead .* via signal/);
        assert.doesNotMatch(shown.stdout, /^\s*· approved by bob/m, command);
      }
      // --json is the record as it is, the sender's bytes included.
      const json = await runbookCli(['status', id, '--json']);
      const exact = (JSON.parse(json.stdout) as { progress: RunProgress }).progress.approvals;
      assert.deepEqual(
        exact.map((a) => a.approver),
        [OVERWRITE, LINK],
      );

      const ui = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
      const details = ui.currentDetails ?? '';
      assert.ok(details.includes('REFUSED approve by \\[approved by bob\\](https://evil.example/)'), details);
      assert.doesNotMatch(details, CONTROL);

      const approved = await runbookCli(['approve', id, '--as', 'alice']);
      assert.equal(approved.code, 0, approved.stderr);
      assert.equal(((await handle.result()) as RunResult).state, 'COMPLETED');
    });
  });
});
