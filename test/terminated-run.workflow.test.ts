// Anyone who can reach Temporal can terminate a run: its own code then never runs, its undos
// neither. The steps it had registered an undo for are left as they were; status, watch and
// history say so ("TERMINATED — needs a person: left to undo ..."), and watch exits 5.
import { strict as assert } from 'node:assert';
import { atGate, runbookCli, startTestRun, uniqueQueue, waitForProgress, withWorker } from './helpers';
import { temporalCli } from './attacker/stock-cli';

describe('a run terminated from outside', function () {
  const taskQueue = uniqueQueue('terminated');

  it('is shown as needing a person, with the undos it never ran, in status, watch and history', async function () {
    await withWorker(taskQueue, async () => {
      const handle = await startTestRun(taskQueue, { runbook: 'smoke', env: 'test' });
      const id = handle.workflowId;
      const waiting = await waitForProgress(handle, atGate('go-ahead'));
      assert.deepEqual(waiting.undosRegistered, ['prepare', 'announce']);
      await temporalCli(['workflow', 'terminate', '--workflow-id', id, '--reason', 'by hand']);

      const needsPerson =
        /TERMINATED — needs a person: left to undo announce, prepare \(the run was ended from outside/;
      for (const command of ['status', 'history']) {
        const shown = await runbookCli([command, id]);
        assert.equal(shown.code, 0, shown.stderr);
        assert.match(shown.stdout, needsPerson, command);
      }
      const watched = await runbookCli(['watch', id]);
      assert.equal(watched.code, 5, watched.stdout + watched.stderr);
      assert.match(watched.stdout, needsPerson);
    });
  });

  it('says nothing of the kind for a run that ended by itself', async function () {
    await withWorker(taskQueue, async () => {
      const handle = await startTestRun(taskQueue, { runbook: 'smoke', env: 'test' });
      await waitForProgress(handle, atGate('go-ahead'));
      const approved = await runbookCli(['approve', handle.workflowId, '--as', 'alice']);
      assert.equal(approved.code, 0, approved.stderr);
      await handle.result();
      const shown = await runbookCli(['status', handle.workflowId]);
      assert.doesNotMatch(shown.stdout, /needs a person/);
    });
  });
});
