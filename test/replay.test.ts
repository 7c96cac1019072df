// Recorded histories replayed against the current workflow code: a change to a released
// runbook's steps that is not guarded by patched() fails here, before it reaches a worker.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { HISTORIES_DIR } from './history-recorder';
import { workflowBundle } from './helpers';

describe('replay of recorded histories', function () {
  const files = fs.existsSync(HISTORIES_DIR) ? fs.readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json')) : [];

  it('has recorded histories to replay (RUNBOOK_RECORD_HISTORIES=1 npm test records them)', function () {
    assert.ok(files.length >= 4, `found only ${files.length} histories in ${HISTORIES_DIR}`);
  });

  it('replays every recorded history without a nondeterminism error', async function () {
    const histories = files.map((file) => ({
      workflowId: path.basename(file, '.json'),
      history: historyFromJSON(JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8'))),
    }));
    let replayed = 0;
    for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
      assert.equal(result.error, undefined, `${result.workflowId}: ${String(result.error)}`);
      replayed++;
    }
    assert.equal(replayed, files.length);
  });
});
