// The worker's Prometheus client (activities/prometheus.ts) against a local HTTP server that
// answers as Prometheus's API does, and as it does not: every failure is a typed error, never a
// value, and an answer over a cap is refused whole.
import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { instantQuery, oneNumber, rangeQuery, byLabel, type PromResult } from '../activities/prometheus';

type Handler = (req: http.IncomingMessage, form: URLSearchParams, res: http.ServerResponse) => void;

const success = (data: unknown) => JSON.stringify({ status: 'success', data });
const vector = (...series: [Record<string, string>, string][]) =>
  success({ resultType: 'vector', result: series.map(([metric, v]) => ({ metric, value: [1700000000.5, v] })) });

describe('Prometheus client', function () {
  let server: http.Server;
  let base: string;
  let handler: Handler;
  const open = new Set<http.ServerResponse>();

  before(async function () {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        open.add(res);
        res.on('close', () => open.delete(res));
        handler(req, new URLSearchParams(body), res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async function () {
    for (const res of open) res.destroy();
    await new Promise((r) => server.close(r));
  });

  const answer = (status: number, text: string): Handler => {
    return (_req, _form, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(text);
    };
  };

  function failedWith(r: PromResult, kind: string, pattern: RegExp) {
    assert.equal(r.ok, false, JSON.stringify(r));
    if (r.ok) return;
    assert.equal(r.kind, kind, r.error);
    assert.match(r.error, pattern);
    const m = oneNumber(r);
    assert.ok('error' in m, 'an unreadable answer is never a value');
  }

  it('asks an instant query with its timeout, and reads a vector', async function () {
    let asked: { path?: string; form?: URLSearchParams; auth?: string } = {};
    handler = (req, form, res) => {
      asked = { path: req.url, form, auth: req.headers.authorization };
      answer(200, vector([{ instance: 'web1' }, '0.25'], [{ instance: 'web2' }, '0']))(req, form, res);
    };
    const r = await instantQuery(base, { query: 'up', time: 1700000000 }, { timeoutMs: 3000 });
    assert.ok(r.ok);
    assert.equal(asked.path, '/api/v1/query');
    assert.equal(asked.form?.get('query'), 'up');
    assert.equal(asked.form?.get('time'), '1700000000');
    assert.equal(asked.form?.get('timeout'), '2.5');
    assert.equal(asked.auth, undefined);
    assert.equal(r.resultType, 'vector');
    assert.deepEqual(byLabel(r, 'instance'), { web1: 0.25, web2: 0 });
    assert.deepEqual(r.series[0], { labels: { instance: 'web1' }, samples: [[1700000000.5, 0.25]] });
  });

  it("sends a URL's credentials as Basic auth, under a path prefix, and never shows them", async function () {
    let asked: { path?: string; auth?: string } = {};
    handler = (req, form, res) => {
      asked = { path: req.url, auth: req.headers.authorization };
      answer(400, JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error' }))(req, form, res);
    };
    const url = base.replace('http://', 'http://ops:s3cret@') + '/prom/';
    const r = await instantQuery(url, { query: 'rate(' });
    failedWith(r, 'query', /bad_data parse error/);
    assert.equal(asked.path, '/prom/api/v1/query');
    assert.equal(asked.auth, `Basic ${Buffer.from('ops:s3cret').toString('base64')}`);
    assert.ok(!JSON.stringify(r).includes('s3cret'));
  });

  it('one number: a measurement; no series, NaN, several series: an error, never a value', async function () {
    handler = answer(200, vector([{}, '0.03']));
    assert.deepEqual(oneNumber(await instantQuery(base, { query: 'q' })), { value: 0.03 });
    handler = answer(200, success({ resultType: 'scalar', result: [1700000000, '7'] }));
    assert.deepEqual(oneNumber(await instantQuery(base, { query: 'q' })), { value: 7 });
    handler = answer(200, vector());
    assert.match((oneNumber(await instantQuery(base, { query: 'q' })) as { error: string }).error, /no data/);
    handler = answer(200, vector([{}, 'NaN']));
    assert.match((oneNumber(await instantQuery(base, { query: 'q' })) as { error: string }).error, /no data.*NaN/);
    handler = answer(200, vector([{}, '+Inf']));
    assert.ok('error' in oneNumber(await instantQuery(base, { query: 'q' })));
    handler = answer(200, vector([{ a: '1' }, '1'], [{ a: '2' }, '2']));
    assert.match((oneNumber(await instantQuery(base, { query: 'q' })) as { error: string }).error, /2 series/);
  });

  it('asks a range query and reads a matrix', async function () {
    let form: URLSearchParams | undefined;
    handler = (req, f, res) => {
      form = f;
      const values = [
        [100, '1'],
        [101, '2'],
        [102, '3'],
      ];
      answer(200, success({ resultType: 'matrix', result: [{ metric: { instance: 'web1' }, values }] }))(req, f, res);
    };
    const r = await rangeQuery(base, { query: 'q', start: 100, end: 102, step: 1 });
    assert.ok(r.ok);
    assert.deepEqual([form?.get('start'), form?.get('end'), form?.get('step')], ['100', '102', '1']);
    assert.deepEqual(r.series[0].samples, [
      [100, 1],
      [101, 2],
      [102, 3],
    ]);
    failedWith(await rangeQuery(base, { query: 'q', start: 0, end: 10_000, step: 0.5 }), 'too-large', /20001 steps/);
    failedWith(await rangeQuery(base, { query: 'q', start: 10, end: 0, step: 1 }), 'query', /not a range/);
  });

  it('caps the series, the samples and the bytes of an answer, and says which cap', async function () {
    const many = Array.from({ length: 5 }, (_, i) => [{ i: String(i) }, '1'] as [Record<string, string>, string]);
    handler = answer(200, vector(...many));
    failedWith(await instantQuery(base, { query: 'q' }, { maxSeries: 4 }), 'too-large', /5 series, more than the 4/);
    const values = Array.from({ length: 30 }, (_, i) => [i, '1']);
    const result = [1, 2].map((i) => ({ metric: { i: String(i) }, values }));
    handler = answer(200, success({ resultType: 'matrix', result }));
    const q = { query: 'q', start: 0, end: 29, step: 1 };
    failedWith(await rangeQuery(base, q, { maxSamples: 50 }), 'too-large', /more than the 50 samples/);
    assert.ok((await rangeQuery(base, q, { maxSamples: 60 })).ok);
    // A body past the byte cap, with and without a content-length.
    handler = answer(200, vector([{ big: 'x'.repeat(5000) }, '1']));
    failedWith(await instantQuery(base, { query: 'q' }, { maxBytes: 1000 }), 'too-large', /over 1000 bytes/);
    handler = (_req, _form, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"status":"success","data":{"resultType":"vector","result":[');
      for (let i = 0; i < 100; i++) res.write(`{"metric":{"i":"${i}"},"value":[1,"1"]},`);
      res.end('{"metric":{},"value":[1,"1"]}]}}');
    };
    failedWith(await instantQuery(base, { query: 'q' }, { maxBytes: 2000 }), 'too-large', /over 2000 bytes/);
  });

  it('nothing answering, no answer in time, a proxy error, not JSON: typed errors', async function () {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    failedWith(await instantQuery(`http://127.0.0.1:${port}`, { query: 'q' }), 'unreachable', /did not answer/);

    handler = () => undefined; // never answers
    failedWith(await instantQuery(base, { query: 'q' }, { timeoutMs: 300 }), 'timeout', /no answer within 0.3s/);

    handler = answer(502, '<html>Bad Gateway</html>');
    failedWith(await instantQuery(base, { query: 'q' }), 'http', /HTTP 502/);
    handler = answer(200, 'hello');
    failedWith(await instantQuery(base, { query: 'q' }), 'bad-response', /not JSON/);
    handler = answer(200, JSON.stringify({ status: 'success', data: { resultType: 'string', result: [1, 'x'] } }));
    failedWith(await instantQuery(base, { query: 'q' }), 'bad-response', /a string result/);
    handler = answer(200, success({ resultType: 'vector', result: [{ metric: {}, value: [1, 'abc'] }] }));
    failedWith(await instantQuery(base, { query: 'q' }), 'bad-response', /sample/);
  });
});
