// The workers' seal on admission verdicts (worker/seal.ts): it holds for the result and the
// activity it was made for, whatever order the result's fields come back in, and for nothing
// else; the key file is made private, once, and a shared or malformed one is refused.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadSealKey, makeSealKey, seal, sealHolds } from '../worker/seal';

const FOR = {
  namespace: 'default',
  workflowId: 'deploy-x',
  runId: 'r1',
  activityId: '9',
  activityType: 'verifySignatures',
};
const VERDICT = { verdicts: [{ ok: true, key: 'ED25519 SHA256:abc', signatureId: 's1' }] };

describe('the worker seal', function () {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seal-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('holds for its result and activity only, in any field order', function () {
    const key = loadSealKey(makeSealKey(path.join(dir, 'k')));
    const sealed = seal(key, FOR, VERDICT);
    const reordered = { verdicts: [{ signatureId: 's1', key: 'ED25519 SHA256:abc', ok: true }] };
    assert.equal(sealHolds(key, FOR, reordered, sealed), true);
    assert.equal(sealHolds(key, { ...FOR, activityId: '10' }, VERDICT, sealed), false, 'another activity');
    assert.equal(sealHolds(key, { ...FOR, runId: 'r2' }, VERDICT, sealed), false, 'another run');
    const widened = { verdicts: [{ ...VERDICT.verdicts[0], key: 'ED25519 SHA256:other' }] };
    assert.equal(sealHolds(key, FOR, widened, sealed), false, 'another verdict');
    assert.equal(sealHolds(key, FOR, VERDICT, undefined), false, 'no seal');
    const other = loadSealKey(makeSealKey(path.join(dir, 'other')));
    assert.equal(sealHolds(other, FOR, VERDICT, sealed), false, 'another key');
  });

  it('is never made unasked; made once, private to the worker; a readable or malformed one is refused', function () {
    const file = path.join(dir, 'state', 'worker-seal.key');
    const auto = process.env.RUNBOOK_CODEC_KEYS_AUTO;
    delete process.env.RUNBOOK_CODEC_KEYS_AUTO;
    try {
      assert.throws(() => loadSealKey(file), /no worker seal key at .*runbook-worker --make-seal-key/);
    } finally {
      if (auto !== undefined) process.env.RUNBOOK_CODEC_KEYS_AUTO = auto;
    }
    const first = loadSealKey(makeSealKey(file));
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.throws(() => makeSealKey(file), /already exists: it is kept/);
    assert.deepEqual(loadSealKey(file).key, first.key, 'read again, not made again');
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['worker-seal.key'], 'nothing left aside');
    fs.chmodSync(file, 0o644);
    assert.throws(() => loadSealKey(file), /worker-seal.key is readable or writable by group\/others/);
    fs.chmodSync(file, 0o600);
    fs.writeFileSync(file, '{"key":"c2hvcnQ=","since":"2026-01-01T00:00:00Z"}');
    assert.throws(() => loadSealKey(file), /is not \{"key": <32 bytes, base64>/);
  });
});
