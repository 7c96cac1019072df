// Skipping is opt-in, and a skippable step hands on no result: the kernel's types refuse a
// runbook that uses what a skippable step returned. Checked by the compiler (tsc fails on an
// unused @ts-expect-error); the test only makes the check visible in the fast tier.
import assert from 'node:assert/strict';
import type { Runbook } from '../workflows/kernel';

export async function typeChecks(rb: Runbook): Promise<void> {
  // A step is not skippable unless it says so: `skippable: true` needs a reason.
  // @ts-expect-error a skippable step says why
  await rb.step('no reason', { run: async () => undefined, skippable: true });
  // @ts-expect-error a skippable step returns void, so its result cannot be used
  const used: string = await rb.step('skippable', { run: async () => 'value', skippable: true, why: 'test' });
  const kept: string = await rb.step('not skippable', { run: async () => 'value' });
  void [used, kept];
}

describe('skippable steps (types)', function () {
  it('compile only as opt-in steps with a reason whose result is never used', function () {
    assert.equal(typeof typeChecks, 'function');
  });
});
