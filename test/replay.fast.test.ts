// Recorded histories replayed against the current workflow code: a change to a released
// runbook's steps that is not guarded by patched() fails here, before it reaches a worker.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { HISTORIES_DIR } from './history-recorder';
import { workflowBundle } from './helpers';
import { workflowMetricSinks } from '../worker/workflow-metrics';

interface RecordedHistory {
  events?: { workflowExecutionStartedEventAttributes?: { workflowId?: string } }[];
}

describe('replay of recorded histories', function () {
  const files = fs.existsSync(HISTORIES_DIR) ? fs.readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json')) : [];

  it('has recorded histories to replay (RUNBOOK_RECORD_HISTORIES=1 npm test records them)', function () {
    assert.ok(files.length >= 4, `found only ${files.length} histories in ${HISTORIES_DIR}`);
  });

  it('replays every recorded history without a nondeterminism error', async function () {
    const histories = files.map((file) => {
      const json = JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8')) as RecordedHistory;
      // Replayed under the id the run had: a workflow that names its children after it (the fleet
      // runbooks' batches) issues the same commands only then.
      const workflowId = json.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowId;
      return { workflowId: workflowId ?? path.basename(file, '.json'), history: historyFromJSON(json), file };
    });
    const fileOf = new Map(histories.map((h) => [h.workflowId, h.file]));
    let replayed = 0;
    for await (const result of Worker.runReplayHistories(
      // The engine's metrics sink, as the workers have it (never called while replaying).
      { workflowBundle: await workflowBundle(), sinks: workflowMetricSinks() },
      histories,
    )) {
      const file = fileOf.get(result.workflowId) ?? result.workflowId;
      assert.equal(result.error, undefined, `${file}: ${String(result.error)}`);
      replayed++;
    }
    assert.equal(replayed, files.length);
  });
});
