// A worker reaching Temporal without TLS refuses runs on protected environments (the run's first
// step, decideRunRules): whoever reaches a plaintext server could take their steps' tasks or
// forge their results. The dev-server tiers and the demo set the lab override.
import { strict as assert } from 'node:assert';
import { ApplicationFailure } from '@temporalio/common';
import { decideRunRules } from '../activities/policy';
import { ALLOW_PLAINTEXT_PROTECTED } from '../src/config';
import { FailureType } from '../common/failure-types';
import { signedInventory, type SignedInventory } from './identity-keys';

const backupOn = (env: string) => ({
  workflowType: 'backup',
  input: { runbook: 'backup', env, params: {}, initiator: 'alice' } as never,
});

describe("the worker's transport on protected environments", function () {
  // A protected environment takes signed identity: one made for these tests, with its people.
  let vault: SignedInventory;
  before(() => (vault = signedInventory('vault', ['alice', 'bob'], ['alice', 'bob'], 1)));
  after(() => vault.remove());
  const names = [ALLOW_PLAINTEXT_PROTECTED, 'TEMPORAL_TLS', 'TEMPORAL_ADDRESS', 'TEMPORAL_PROFILE'];
  const saved: Record<string, string | undefined> = {};
  beforeEach(function () {
    for (const n of names) {
      saved[n] = process.env[n];
      delete process.env[n];
    }
    process.env.TEMPORAL_ADDRESS = '127.0.0.1:7233';
  });
  afterEach(function () {
    for (const n of names) {
      if (saved[n] === undefined) delete process.env[n];
      else process.env[n] = saved[n];
    }
  });

  const refusal = 'refuses a run on a protected environment over plaintext, naming the settings and the override';
  it(refusal, async function () {
    await assert.rejects(decideRunRules(backupOn('vault')), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, FailureType.BadInput);
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, /vault is protected/);
      assert.match(err.message, /127\.0\.0\.1:7233 has no TLS/);
      assert.match(err.message, /TEMPORAL_TLS_CLIENT_CERT_PATH/);
      assert.match(err.message, new RegExp(`${ALLOW_PLAINTEXT_PROTECTED}=1`));
      return true;
    });
  });

  it('runs it over TLS, or with the lab override; an unprotected environment needs neither', async function () {
    assert.equal((await decideRunRules(backupOn('test'))).runbook, 'backup');
    process.env.TEMPORAL_TLS = 'true';
    assert.equal((await decideRunRules(backupOn('vault'))).runbook, 'backup');
    delete process.env.TEMPORAL_TLS;
    process.env[ALLOW_PLAINTEXT_PROTECTED] = '1';
    assert.equal((await decideRunRules(backupOn('vault'))).runbook, 'backup');
  });
});
