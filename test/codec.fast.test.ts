// The payload codec and its key ring, and the codec server's HTTP contract, without Temporal.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import { projectRoot } from '../src/config';
import { AesGcmCodec, ENCODING, KEY_ID_KEY } from '../src/codec/aes-gcm-codec';
import {
  createKeysFile,
  loadKeyRing,
  parseKeyRing,
  readKeyRing,
  rotateKeysFile,
  KeyRingError,
  type KeyRing,
} from '../src/codec/keys';
import { startCodecServer, type RunningCodecServer } from '../src/codec/codec-server';
import { payloadToJson } from '../src/codec/payload-json';
import { FailureType } from '../common/failure-types';

const text = new TextDecoder();

function ring(active: string, ...ids: string[]): KeyRing {
  return { activeKeyId: active, keys: new Map(ids.map((id) => [id, randomBytes(32)])) };
}

function payloadOf(value: unknown): Payload {
  return defaultPayloadConverter.toPayload(value);
}

function valueOf(payload: Payload): unknown {
  return defaultPayloadConverter.fromPayload(payload);
}

async function refusal(promise: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, String(err));
    return err;
  }
  assert.fail('expected a refusal');
}

describe('payload codec (AES-256-GCM)', function () {
  const secretInput = { ref: 'v9.9.9-codec-test', password: 'hunter2-codec-test' };

  it('round-trips payloads, and what it writes holds neither the value nor its encoding in clear', async function () {
    const codec = new AesGcmCodec(ring('k1', 'k1'));
    const [sealed] = await codec.encode([payloadOf(secretInput)]);
    assert.equal(text.decode(sealed.metadata!.encoding!), ENCODING);
    assert.equal(text.decode(sealed.metadata![KEY_ID_KEY]!), 'k1');
    const wire = Buffer.from(JSON.stringify(payloadToJson(sealed)) + Buffer.from(sealed.data!).toString('latin1'));
    for (const clear of ['hunter2-codec-test', 'v9.9.9-codec-test', 'json/plain'])
      assert.ok(!wire.includes(clear), `${clear} in clear`);
    const [opened] = await codec.decode([sealed]);
    assert.deepEqual(valueOf(opened), secretInput);
    // A fresh IV each time: the same value never seals to the same bytes.
    const [again] = await codec.encode([payloadOf(secretInput)]);
    assert.notDeepEqual(Buffer.from(again.data!), Buffer.from(sealed.data!));
  });

  it('after a rotation, seals under the new key and still opens what the old key sealed', async function () {
    const old = ring('2026-05', '2026-05');
    const [sealedBefore] = await new AesGcmCodec(old).encode([payloadOf(secretInput)]);
    const rotated: KeyRing = { activeKeyId: '2026-11', keys: new Map([...old.keys, ['2026-11', randomBytes(32)]]) };
    const codec = new AesGcmCodec(rotated);
    assert.deepEqual(valueOf((await codec.decode([sealedBefore]))[0]), secretInput);
    const [sealedAfter] = await codec.encode([payloadOf(secretInput)]);
    assert.equal(text.decode(sealedAfter.metadata![KEY_ID_KEY]!), '2026-11');
    const failure = await refusal(new AesGcmCodec(old).decode([sealedAfter]));
    assert.equal(failure.type, FailureType.UnknownCodecKey);
    assert.match(failure.message, /key "2026-11", which this key ring does not have/);
  });

  it('refuses altered ciphertext, and ciphertext relabelled with another key id', async function () {
    const keys = ring('a', 'a', 'b');
    const codec = new AesGcmCodec(keys);
    const [sealed] = await codec.encode([payloadOf(secretInput)]);
    const flipped = Buffer.from(sealed.data!);
    flipped[20] ^= 0x01;
    assert.equal((await refusal(codec.decode([{ ...sealed, data: flipped }]))).type, 'BadCiphertext');
    const relabelled = { ...sealed, metadata: { ...sealed.metadata, [KEY_ID_KEY]: new TextEncoder().encode('b') } };
    assert.equal((await refusal(codec.decode([relabelled]))).type, 'BadCiphertext');
    assert.equal((await refusal(codec.decode([{ ...sealed, data: Buffer.alloc(5) }]))).type, 'BadCiphertext');
  });

  it("passes payloads it did not seal unchanged (old histories, the Web UI's plain JSON signals)", async function () {
    const plain = payloadOf({ approver: 'alice', decision: 'approve' });
    const [decoded] = await new AesGcmCodec(ring('k', 'k')).decode([plain]);
    assert.equal(decoded, plain);
  });
});

describe('codec key ring', function () {
  let dir: string;
  let saved: Record<string, string | undefined>;
  // Read when the tests run (the global fixture sets the suite's state dir after files load), and
  // put back exactly: the worker and CLI processes later tests start inherit these.
  beforeEach(() => {
    saved = {
      RUNBOOK_STATE_DIR: process.env.RUNBOOK_STATE_DIR,
      RUNBOOK_CODEC_KEYS: process.env.RUNBOOK_CODEC_KEYS,
      RUNBOOK_CODEC_KEYS_AUTO: process.env.RUNBOOK_CODEC_KEYS_AUTO,
    };
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'codec-keys-'));
  });
  afterEach(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('never makes a ring unasked: without RUNBOOK_CODEC_KEYS the CLI and the worker refuse to start', function () {
    process.env.RUNBOOK_STATE_DIR = path.join(dir, 'state');
    delete process.env.RUNBOOK_CODEC_KEYS;
    delete process.env.RUNBOOK_CODEC_KEYS_AUTO;
    assert.throws(() => loadKeyRing(), /no codec key ring: set RUNBOOK_CODEC_KEYS .*`runbook codec-keys/);
    const env = { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' };
    for (const entry of [
      ['cli', 'main.js', 'list'],
      ['cli', 'main.js', 'codec-keys'],
      ['worker', 'main.js'],
    ]) {
      const ran = spawnSync(process.execPath, [path.join(projectRoot, 'dist', entry[0], entry[1]), ...entry.slice(2)], {
        env,
        encoding: 'utf8',
      });
      assert.equal(ran.status, 1, `${entry.join(' ')}: ${ran.stdout}${ran.stderr}`);
      assert.match(ran.stderr, /no codec key ring: set RUNBOOK_CODEC_KEYS .*`runbook codec-keys/, entry.join(' '));
      assert.doesNotMatch(ran.stderr, /cannot reach Temporal/, 'refused before connecting');
    }
    assert.ok(!fs.existsSync(path.join(dir, 'state', 'codec-keys.json')), 'no ring made');
  });

  it('runbook codec-keys --create makes the ring RUNBOOK_CODEC_KEYS names, once', function () {
    const file = path.join(dir, 'team', 'codec-keys.json');
    const create = () =>
      JSON.parse(
        execFileSync(
          process.execPath,
          [path.join(projectRoot, 'dist', 'cli', 'main.js'), 'codec-keys', '--create', '--json'],
          { env: { ...process.env, RUNBOOK_CODEC_KEYS: file }, encoding: 'utf8' },
        ),
      ) as { created: boolean; active: string };
    const first = create();
    assert.equal(first.created, true);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const second = create();
    assert.equal(second.created, false, 'an existing ring is left alone');
    assert.equal(second.active, first.active);
  });

  it('with RUNBOOK_CODEC_KEYS_AUTO=1 makes the local default on first use, owner-only, then reuses it', function () {
    process.env.RUNBOOK_STATE_DIR = path.join(dir, 'state');
    delete process.env.RUNBOOK_CODEC_KEYS;
    process.env.RUNBOOK_CODEC_KEYS_AUTO = '1';
    const first = loadKeyRing();
    const file = path.join(dir, 'state', 'codec-keys.json');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const second = loadKeyRing();
    assert.equal(second.activeKeyId, first.activeKeyId);
    assert.deepEqual(second.keys.get(second.activeKeyId), first.keys.get(first.activeKeyId));
  });

  it('rotates: a new active key, the old ones kept', function () {
    const file = path.join(dir, 'keys.json');
    createKeysFile(file);
    const before = readKeyRing(file);
    const id = rotateKeysFile(file);
    const after = readKeyRing(file);
    assert.equal(after.activeKeyId, id);
    assert.notEqual(id, before.activeKeyId);
    assert.deepEqual(after.keys.get(before.activeKeyId), before.keys.get(before.activeKeyId));
  });

  it('runbook codec-keys --rotate adds an active key, keeps the old, and never prints a key', function () {
    const file = path.join(dir, 'keys.json');
    createKeysFile(file);
    const before = readKeyRing(file);
    const out = execFileSync(
      process.execPath,
      [path.join(projectRoot, 'dist', 'cli', 'main.js'), 'codec-keys', '--rotate', '--json'],
      { env: { ...process.env, RUNBOOK_CODEC_KEYS: file }, encoding: 'utf8' },
    );
    const shown = JSON.parse(out) as { active: string; keys: string[] };
    const after = readKeyRing(file);
    assert.equal(shown.active, after.activeKeyId);
    assert.deepEqual(shown.keys.sort(), [before.activeKeyId, after.activeKeyId].sort());
    for (const key of after.keys.values()) assert.ok(!out.includes(key.toString('base64')));
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });

  it('refuses a keys file others can read, a missing one, and a malformed one, saying which and why', function () {
    const file = path.join(dir, 'keys.json');
    createKeysFile(file);
    fs.chmodSync(file, 0o644);
    process.env.RUNBOOK_CODEC_KEYS = file;
    assert.throws(
      () => loadKeyRing(),
      (err: Error) =>
        err instanceof KeyRingError &&
        err.message.includes(file) &&
        /group\/others \(mode 0644\); chmod 600/.test(err.message),
    );
    process.env.RUNBOOK_CODEC_KEYS = path.join(dir, 'missing.json');
    assert.throws(() => loadKeyRing(), /missing\.json does not exist/);
    assert.throws(() => parseKeyRing({ active: 'x', keys: { x: 'c2hvcnQ=' } }, 'f'), /key x is not 32 bytes/);
    assert.throws(
      () => parseKeyRing({ active: 'y', keys: { x: randomBytes(32).toString('base64') } }, 'f'),
      /"active" must name one of its keys \(x\)/,
    );
  });
});

describe('codec server (HTTP contract)', function () {
  const origin = 'http://ui.example:8233';
  const keys = ring('k1', 'k1');
  let server: RunningCodecServer;
  before(
    async () =>
      (server = await startCodecServer({ codec: new AesGcmCodec(keys), origins: [origin], token: 'open-sesame' })),
  );
  after(() => server.close());

  const post = (route: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin, ...headers },
      body: JSON.stringify(body),
    });

  it('decodes what encode sealed, for a caller with the token, with CORS for the UI origin', async function () {
    const auth = { authorization: 'Bearer open-sesame' };
    const plain = payloadToJson(payloadOf({ hello: 'world' }));
    const encoded = await post('/encode', { payloads: [plain] }, auth);
    assert.equal(encoded.status, 200);
    const sealed = ((await encoded.json()) as { payloads: Record<string, unknown>[] }).payloads;
    assert.notDeepEqual(sealed[0], plain);
    const decoded = await post('/decode', { payloads: sealed }, auth);
    assert.equal(decoded.status, 200);
    assert.equal(decoded.headers.get('access-control-allow-origin'), origin);
    assert.deepEqual(((await decoded.json()) as { payloads: unknown[] }).payloads, [plain]);
  });

  it('refuses requests without the token (401), bad bodies (400) and other routes (404)', async function () {
    assert.equal((await post('/decode', { payloads: [] })).status, 401);
    assert.equal((await post('/decode', { payloads: [] }, { authorization: 'Bearer open-sesamE' })).status, 401);
    assert.equal((await post('/decode', { nothing: true }, { authorization: 'Bearer open-sesame' })).status, 400);
    assert.equal((await post('/elsewhere', {}, { authorization: 'Bearer open-sesame' })).status, 404);
  });

  it('takes the token leading the path too, for the Web UI\'s "Codec Server" setting (no header)', async function () {
    assert.equal((await post('/open-sesame/decode', { payloads: [] })).status, 200);
    assert.equal((await post('/open-sesamE/decode', { payloads: [] })).status, 401);
  });

  it("answers the browser's preflight for the UI origin only", async function () {
    const preflight = (from: string) =>
      fetch(`${server.url}/decode`, {
        method: 'OPTIONS',
        headers: {
          origin: from,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,x-namespace,authorization',
        },
      });
    const ok = await preflight(origin);
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), origin);
    assert.deepEqual(ok.headers.get('access-control-allow-headers')!.split(/,\s*/).sort(), [
      'authorization',
      'content-type',
      'x-namespace',
    ]);
    assert.match(ok.headers.get('access-control-allow-methods')!, /POST/);
    const foreign = await preflight('http://evil.example');
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);
  });
});
