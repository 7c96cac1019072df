// A rolling deploy judged by its analyses after each batch (workflows/rolling-deploy.ts), with
// stub activities whose analyses say what each case needs: Successful goes on, Failed rolls the
// batches back naming the failing metric (no failure gate, even where the run asks one),
// Inconclusive waits at the failure gate for a person (or rolls back where the run rolls back
// at once), and record-only records the verdict and acts on none.
import { strict as assert } from 'node:assert';
import type { BatchAnalysis, AnalyseBatchInput } from '../activities/analysis';
import { decideFailureUpdate, type RunResult } from '../common/shared';
import { compensated } from './run-ended';
import { startTestRun, uniqueQueue, waitForProgress, withWorker } from './helpers';
import type { ActivityCall } from './plan-facts';
import { stubActivities } from './stub-activities';

const params = { ref: 'v1.0.0', batches: '1,100%', analysis: 'error-rate,canary' };
const ANALYSE_1 = 'analyse batch 1/2';

type Phase = BatchAnalysis['phase'];

/** The stubs, each analysis answering the next phase of `phases` (the last repeating). */
function analysing(phases: Phase[]) {
  const calls: ActivityCall[] = [];
  const stubs = stubActivities(calls);
  let n = 0;
  const analyseBatch = async (input: AnalyseBatchInput): Promise<BatchAnalysis> => {
    const phase = phases[Math.min(n++, phases.length - 1)];
    const failing = phase === 'Successful' ? undefined : 'canary/errors';
    const reason = phase === 'Successful' ? 'score 100 ≥ 95' : `${failing}: critical metric failed: errors (high)`;
    const verdict: BatchAnalysis = {
      changed: false,
      detail: `analysis ${phase}: ${reason}`,
      batch: input.batch,
      phase,
      reason,
      ...(failing ? { failing } : {}),
      canary: input.canary,
      baseline: input.baseline,
      analyses: [],
      overruled: [],
    };
    calls.push({ type: 'analyseBatch', input, result: verdict });
    return verdict;
  };
  return { calls, stubs: { ...stubs, analyseBatch } };
}

const called = (calls: ActivityCall[], type: string) =>
  calls.filter((c) => c.type === type).map((c) => c.input as Record<string, unknown>);

describe('rolling deploy: analysis after each batch', function () {
  this.timeout(240_000);

  it('Successful: every batch is analysed, upgraded hosts against the rest, and the run goes on', async function () {
    const queue = uniqueQueue('analysis-ok');
    const { calls, stubs } = analysing(['Successful']);
    const result = await withWorker(
      queue,
      async () => {
        const handle = await startTestRun(queue, { runbook: 'rolling-deploy', env: 'local', params });
        return (await handle.result()) as RunResult;
      },
      stubs,
    );
    assert.equal(result.state, 'COMPLETED', result.progress.reason);
    assert.deepEqual(
      result.progress.steps.map((s) => s.name),
      [
        'plan the batches',
        'resolve the ref',
        'record the current commits',
        'check the analyses',
        'batch 1/2 (1 host)',
        ANALYSE_1,
        'batch 2/2 (1 host)',
        'analyse batch 2/2',
      ],
    );
    assert.deepEqual(
      called(calls, 'analyseBatch').map(({ batch, canary, baseline, analysis }) => ({
        batch,
        canary,
        baseline,
        analysis,
      })),
      [
        { batch: 1, canary: ['web-blue'], baseline: ['web-green'], analysis: 'error-rate,canary' },
        // The last batch: no host left to compare with (the activity judges it by thresholds only).
        { batch: 2, canary: ['web-blue', 'web-green'], baseline: [], analysis: 'error-rate,canary' },
      ],
    );
    assert.equal(result.progress.steps[5].detail, 'analysis Successful: score 100 ≥ 95');
  });

  it('Failed: the run ends, its batch rolled back, naming the failing metric; no failure gate', async function () {
    const queue = uniqueQueue('analysis-failed');
    const { calls, stubs } = analysing(['Failed']);
    const result = await withWorker(
      queue,
      async () => {
        // The run asks for failure gates: a Failed analysis still rolls back at once.
        const handle = await startTestRun(queue, {
          runbook: 'rolling-deploy',
          env: 'local',
          params,
          onFailure: 'ask',
          failureTimeoutMs: 600_000,
        });
        return compensated(handle);
      },
      stubs,
    );
    assert.match(
      result.progress.reason ?? '',
      /^analysis failed after batch 1: canary\/errors: critical metric failed/,
    );
    assert.equal(result.progress.failureGates, undefined, 'no failure gate opened');
    assert.deepEqual(
      called(calls, 'rollHost').map((c) => c.host),
      ['web-blue'],
      'the second batch never started',
    );
    assert.deepEqual(
      called(calls, 'rollBackHost').map((c) => c.host),
      ['web-blue'],
    );
    assert.equal(result.progress.steps.find((s) => s.name === 'batch 1/2 (1 host)')?.status, 'compensated');
    assert.match(result.progress.steps.find((s) => s.name === ANALYSE_1)?.detail ?? '', /^analysis Failed/);
  });

  it('Inconclusive: a failure gate for a person; retried, it analyses again and goes on', async function () {
    const queue = uniqueQueue('analysis-gate');
    const { calls, stubs } = analysing(['Inconclusive', 'Successful']);
    const result = await withWorker(
      queue,
      async () => {
        const handle = await startTestRun(queue, {
          runbook: 'rolling-deploy',
          env: 'local',
          params,
          onFailure: 'ask',
          failureTimeoutMs: 600_000,
        });
        const at = await waitForProgress(handle, (p) => p.failureGate !== undefined, 'the failure gate');
        assert.equal(at.failureGate!.step, ANALYSE_1);
        assert.match(at.failureGate!.error, /analysis inconclusive after batch 1: canary\/errors/);
        assert.equal(at.failureGate!.skippable, true);
        assert.deepEqual(
          called(calls, 'rollHost').map((c) => c.host),
          ['web-blue'],
          'nothing goes on while the gate waits',
        );
        await handle.executeUpdate(decideFailureUpdate, { args: [{ decision: 'retry', by: 'alice' }] });
        return (await handle.result()) as RunResult;
      },
      stubs,
    );
    assert.equal(result.state, 'COMPLETED', result.progress.reason);
    assert.equal(called(calls, 'analyseBatch').length, 3);
  });

  it('Inconclusive where the run rolls back at once on failure: rolled back, never a silent pass', async function () {
    const queue = uniqueQueue('analysis-inconclusive');
    const { calls, stubs } = analysing(['Inconclusive']);
    const result = await withWorker(
      queue,
      async () => compensated(await startTestRun(queue, { runbook: 'rolling-deploy', env: 'local', params })),
      stubs,
    );
    assert.match(result.progress.reason ?? '', /analysis inconclusive after batch 1/);
    assert.deepEqual(
      called(calls, 'rollBackHost').map((c) => c.host),
      ['web-blue'],
    );
    assert.equal(result.progress.steps.find((s) => s.name === ANALYSE_1)?.status, 'failed');
  });

  it('record-only: the verdicts are recorded and nothing acts on them', async function () {
    const queue = uniqueQueue('analysis-record');
    const { calls, stubs } = analysing(['Failed', 'Inconclusive']);
    const result = await withWorker(
      queue,
      async () => {
        const handle = await startTestRun(queue, {
          runbook: 'rolling-deploy',
          env: 'local',
          params: { ...params, 'analysis-mode': 'record-only' },
        });
        return (await handle.result()) as RunResult;
      },
      stubs,
    );
    assert.equal(result.state, 'COMPLETED', result.progress.reason);
    const details = result.progress.steps.filter((s) => s.name.startsWith('analyse')).map((s) => s.detail);
    assert.deepEqual(details, [
      'record only, no action: analysis Failed: canary/errors: critical metric failed: errors (high)',
      'record only, no action: analysis Inconclusive: canary/errors: critical metric failed: errors (high)',
    ]);
    assert.deepEqual(
      called(calls, 'rollBackHost').map((c) => c.host),
      [],
    );
  });

  it('a run that names no analysis takes no analysis step', async function () {
    const queue = uniqueQueue('analysis-none');
    const { calls, stubs } = analysing(['Failed']);
    const result = await withWorker(
      queue,
      async () => {
        const handle = await startTestRun(queue, {
          runbook: 'rolling-deploy',
          env: 'local',
          params: { ref: 'v1.0.0', batches: '1,100%' },
        });
        return (await handle.result()) as RunResult;
      },
      stubs,
    );
    assert.equal(result.state, 'COMPLETED');
    assert.equal(called(calls, 'analyseBatch').length + called(calls, 'pickAnalyses').length, 0);
  });
});
