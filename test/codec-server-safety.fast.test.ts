// The codec server decrypts every run for whoever reaches it: it refuses to listen beyond this
// machine without a token, answers only to its own address when tokenless (DNS rebinding), and
// refuses oversized requests.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { AesGcmCodec } from '../src/codec/aes-gcm-codec';
import { MAX_BODY_BYTES, startCodecServer, type RunningCodecServer } from '../src/codec/codec-server';
import type { KeyRing } from '../src/codec/keys';
import { runbookCli } from './helpers';

function post(
  url: string,
  path: string,
  headers: Record<string, string | number>,
  body: Buffer | string,
): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, path, method: 'POST', headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    // The server may answer (413) and close before the whole body is sent.
    req.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err),
    );
    req.end(body);
  });
}

describe('codec server safety', function () {
  const ring: KeyRing = { activeKeyId: 'k1', keys: new Map([['k1', randomBytes(32)]]) };
  const codec = new AesGcmCodec(ring);
  let server: RunningCodecServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('refuses to listen on a non-loopback address without a token, from the API and the CLI', async function () {
    await assert.rejects(
      startCodecServer({ codec, origins: [], host: '0.0.0.0' }),
      /refusing to serve 0\.0\.0\.0 without a token/,
    );
    const cli = await runbookCli(['codec-server', '--host', '0.0.0.0', '--port', '0'], { RUNBOOK_CODEC_TOKEN: '' });
    assert.equal(cli.code, 2);
    assert.match(cli.stderr, /refusing to serve 0\.0\.0\.0 without a token/);
    server = await startCodecServer({ codec, origins: [], host: '0.0.0.0', token: 'open-sesame' });
  });

  it('answers a tokenless loopback server only under its own name: a rebound Host is refused', async function () {
    server = await startCodecServer({ codec, origins: [] });
    const body = JSON.stringify({ payloads: [] });
    const { port } = new URL(server.url);
    const json = { 'content-type': 'application/json' };
    assert.equal(await post(server.url, '/decode', { ...json, host: `127.0.0.1:${port}` }, body), 200);
    assert.equal(await post(server.url, '/decode', { ...json, host: `localhost:${port}` }, body), 200);
    assert.equal(await post(server.url, '/decode', { ...json, host: `attacker.example:${port}` }, body), 421);
    assert.equal(await post(server.url, '/decode', { ...json, host: `127.0.0.1.nip.io:${port}` }, body), 421);
  });

  it('refuses a request body over its limit, declared or not', async function () {
    server = await startCodecServer({ codec, origins: [] });
    const big = Buffer.alloc(MAX_BODY_BYTES + 1024, 'a');
    assert.equal(await post(server.url, '/decode', { 'content-length': big.length }, big), 413);
    assert.equal(await post(server.url, '/decode', { 'transfer-encoding': 'chunked' }, big), 413);
  });
});
