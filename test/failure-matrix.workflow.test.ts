// Every runbook × every step failing, on the dev server against stub activities: the matrix is
// generated from each runbook's clean run and its plan (test/failure-matrix.ts), run on one
// worker with a bounded number of runs at a time, and each runbook's cases are then judged in a
// test of its own. The outcome (COMPLETED, COMPENSATED, FAILED_COMPENSATION,
// SETTLED_THEN_FAILED), the undos run and what is left to undo are checked for each step
// failing, with an undo failing too, at each approval gate rejected or expired, at a failure
// gate (on-failure ask) fixed, rolled back or left to expire, with the environment's lock
// contested, and with every step's first attempts failing. What only real hosts show (markers,
// files, services) stays in the bed tier.
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { RUNBOOKS } from '../src/runbooks';
import {
  casesOf,
  drive,
  inParallel,
  MatrixInventory,
  matrixActivities,
  profileOf,
  verdict,
  type Case,
  type Profile,
} from './failure-matrix';
import { testClient, uniqueQueue, withWorker } from './helpers';
import { dryRunOn } from './plan-facts';
import { stubActivities } from './stub-activities';
import type { PlanItem } from '../common/plan';
import { STUB_PARAMS } from './stub-params';

/** Runs in flight at once on the one worker: enough to overlap their waits, few enough for two cores. */
const AT_ONCE = Number(process.env.RUNBOOK_MATRIX_AT_ONCE ?? 12);

interface Judged {
  label: string;
  kind: Case['kind'];
  problems: string[];
}

describe('the failure matrix: every runbook × every step failing (stub activities)', function () {
  const profiles = new Map<string, Profile | string[]>();
  const judged = new Map<string, Judged[]>();

  before(async function () {
    this.timeout(900_000);
    const started = Date.now();
    const client: Client = await testClient();
    const inventory = new MatrixInventory();
    const queue = uniqueQueue('matrix');
    const d = { client, queue, inventory };
    const only = process.env.RUNBOOK_MATRIX_ONLY?.split(',');
    const specs = RUNBOOKS.filter((s) => STUB_PARAMS[s.name] && (!only || only.includes(s.name)));
    try {
      // Each runbook's dry run (on a worker of its own: the matrix's stand-ins ask a run its step) declares its undos.
      const dryQueue = uniqueQueue('matrix-plans');
      const plans = await withWorker(
        dryQueue,
        async () => {
          const planned = new Map<string, PlanItem[]>();
          await inParallel(specs, AT_ONCE, async (spec) => {
            const req = {
              runbook: spec.name,
              env: inventory.add(),
              params: STUB_PARAMS[spec.name],
              initiator: 'matrix',
            };
            planned.set(spec.name, (await dryRunOn(dryQueue, req)).plan);
          });
          return planned;
        },
        stubActivities([]),
      );
      await withWorker(
        queue,
        async () => {
          await inParallel(specs, AT_ONCE, async (spec) => {
            const params = STUB_PARAMS[spec.name];
            profiles.set(spec.name, profileOf(spec, params, await drive(d, spec, params), plans.get(spec.name)!));
          });
          const cleanMs = Date.now() - started;
          const cases = specs.flatMap((spec) => {
            const profile = profiles.get(spec.name);
            return profile && !Array.isArray(profile) ? casesOf(profile) : [];
          });
          // The longest first (every step retried, whole runs after a failure gate): none is left alone at the end.
          const order: Case['kind'][] = ['flaky', 'ask', 'gate', 'undo', 'step'];
          cases.sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
          await inParallel(cases, AT_ONCE, async (c) => {
            const profile = profiles.get(c.runbook) as Profile;
            const t0 = Date.now();
            const ran = await drive(d, profile.spec, profile.params, c);
            if (process.env.RUNBOOK_MATRIX_DEBUG)
              console.log(
                `${((Date.now() - t0) / 1000).toFixed(1)}s ${c.runbook}: ${c.label}`,
                verdict(c, profile, ran),
              );
            const list = judged.get(c.runbook) ?? [];
            list.push({ label: c.label, kind: c.kind, problems: verdict(c, profile, ran) });
            judged.set(c.runbook, list);
          });
          const rows = specs.map((spec) => {
            const list = judged.get(spec.name) ?? [];
            const count = (kind: Case['kind']) => list.filter((j) => j.kind === kind).length;
            const profile = profiles.get(spec.name);
            const steps = profile && !Array.isArray(profile) ? profile.steps.length : 0;
            return (
              `      ${spec.name.padEnd(20)} ${String(steps).padStart(3)} steps: ${String(list.length).padStart(3)} ` +
              `cases (${count('step')} failing, ${count('undo')} undo failing, ${count('ask')} failure gate, ` +
              `${count('gate')} approval gate, ${count('flaky')} flaky)`
            );
          });
          console.log(
            `    failure matrix: ${cases.length} cases of ${specs.length} runbooks ` +
              `in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
              `(clean runs ${(cleanMs / 1000).toFixed(1)} s; ${AT_ONCE} runs at once)\n${rows.join('\n')}`,
          );
        },
        matrixActivities(client),
      );
    } finally {
      inventory.remove();
    }
  });

  it('has parameters for every runbook', function () {
    assert.deepEqual(
      RUNBOOKS.map((r) => r.name).filter((name) => !STUB_PARAMS[name]),
      [],
    );
  });

  for (const spec of RUNBOOKS) {
    it(`${spec.name}: every case ends as its clean run and its plan say`, function () {
      const profile = profiles.get(spec.name);
      assert.ok(profile, 'no clean run');
      if (Array.isArray(profile)) assert.fail(`its clean run:\n  ${profile.join('\n  ')}`);
      const list = judged.get(spec.name) ?? [];
      // Generated, not chosen: a case for each step that calls an activity, plus gates, failure gates and undos.
      const failable = profile.at.filter(Boolean).length;
      assert.ok(failable > 0, 'no step of its clean run called an activity');
      assert.equal(list.filter((j) => j.kind === 'step').length, failable);
      const wrong = list.filter((j) => j.problems.length);
      assert.deepEqual(
        wrong.map((j) => `${j.label}:\n      ${j.problems.join('\n      ')}`),
        [],
        `${wrong.length} of ${list.length} cases ended otherwise than expected`,
      );
    });
  }
});
