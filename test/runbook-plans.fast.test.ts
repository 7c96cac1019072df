// A runbook's dry-run plan lists the steps its workflow runs, in order, with the names
// `runbook watch` shows. Checked against real runs: the completed histories the test-bed suite
// recorded (test/histories/). The facts a run finds (the idle colour, the backup it picked)
// are read from its activities' inputs and results in the history, never from its steps.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadEnvironment } from '../src/inventory';
import { RUNBOOKS } from '../src/runbooks';
import type { RunInput, RunResult } from '../common/shared';
import { HISTORIES_DIR } from './history-recorder';
import { environmentOf, factsOf, stepsOf } from './plan-facts';

interface Payloads {
  payloads?: { data?: string }[];
}
type Event = Record<string, { [k: string]: unknown } | string | undefined> & { eventId: string };

const decode = (p?: Payloads): unknown => {
  const data = p?.payloads?.[0]?.data;
  return data ? JSON.parse(Buffer.from(data, 'base64').toString('utf8')) : undefined;
};

/** A recorded run: what it was started with, the steps it recorded, and its activities' inputs and results. */
function readRun(file: string) {
  const events = (JSON.parse(fs.readFileSync(file, 'utf8')) as { events: Event[] }).events;
  const attrs = (e: Event) =>
    Object.entries(e).find(([k]) => k.endsWith('EventAttributes'))?.[1] as Record<string, unknown>;
  const started = attrs(events[0]) as { workflowType: { name: string }; input: Payloads };
  const closed = attrs(events[events.length - 1]) as {
    result?: Payloads;
    failure?: { applicationFailureInfo?: { details?: Payloads } };
  };
  const scheduled = new Map<string, { type: string; input: unknown }>();
  const calls: { type: string; input: unknown; result?: unknown }[] = [];
  const patches = new Set<string>();
  for (const e of events) {
    const a = attrs(e);
    if (e.markerRecordedEventAttributes) {
      // The SDK records the patch's details under "patch-data" (older recordings: "patch_data").
      const m = a as { markerName?: string; details?: Record<string, Payloads | undefined> };
      const id = (decode(m.details?.['patch-data'] ?? m.details?.patch_data) as { id?: string } | undefined)?.id;
      if (m.markerName === 'core_patch' && id) patches.add(id);
    }
    if (e.activityTaskScheduledEventAttributes) {
      const s = a as { activityType: { name: string }; input: Payloads };
      scheduled.set(e.eventId, { type: s.activityType.name, input: decode(s.input) });
    }
    if (e.activityTaskCompletedEventAttributes) {
      const c = a as { scheduledEventId: string; result?: Payloads };
      calls.push({ ...scheduled.get(String(c.scheduledEventId))!, result: decode(c.result) });
    }
  }
  return {
    workflow: started.workflowType.name,
    input: decode(started.input) as RunInput,
    result: decode(closed.result ?? closed.failure?.applicationFailureInfo?.details) as RunResult | undefined,
    calls,
    patches,
  };
}

function failedResult(input: RunInput, file: string): never {
  throw new Error(`${file}: the ${input.runbook} run recorded no result`);
}

describe('dry-run plans name the steps runs record', function () {
  const files = fs.readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json'));

  for (const file of files) {
    it(`${path.basename(file, '.json')}: the plan's steps are the run's, in order`, function () {
      const run = readRun(path.join(HISTORIES_DIR, file));
      const spec = RUNBOOKS.find((r) => r.workflow === run.workflow);
      assert.ok(spec, `no runbook runs workflow ${run.workflow}`);
      // Steps added behind a patch are in the plan of runs that recorded that patch only.
      const plan = spec
        .plan(environmentOf(run.input.env), run.input.params, factsOf(run.calls))
        .filter((item) => !('patch' in item) || !item.patch || run.patches.has(item.patch));
      const recorded = (run.result ?? failedResult(run.input, file)).progress.steps.map((s) => s.name);
      // A run that failed stopped part-way through its plan.
      const expected = run.result?.state === 'COMPLETED' ? stepsOf(plan) : stepsOf(plan).slice(0, recorded.length);
      assert.deepEqual(recorded, expected);
    });
  }

  it('covers every runbook with a recorded completed run', function () {
    const ran = new Set(
      files
        .map((f) => readRun(path.join(HISTORIES_DIR, f)))
        .filter((r) => r.result?.state === 'COMPLETED')
        .map((r) => r.workflow),
    );
    assert.deepEqual(
      RUNBOOKS.filter((r) => !ran.has(r.workflow)).map((r) => r.name),
      [],
    );
  });

  it('a dry run shows placeholders where the run will find the name', function () {
    const env = loadEnvironment('local');
    const deploy = RUNBOOKS.find((r) => r.name === 'deploy')!;
    assert.ok(stepsOf(deploy.plan(env, { ref: 'v1' })).includes('install on <idle colour> (expand migrations)'));
  });
});
