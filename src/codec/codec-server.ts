// The codec server the Temporal Web UI calls from the browser: POST /decode (and /encode) with
// {"payloads": [{"metadata": {...base64}, "data": "<base64>"}]}, answered in the same shape.
// Only the UI's origin gets CORS headers, and with a token configured every request must carry
// it: whoever can call /decode reads every run's inputs. Scripts and proxies send
// "Authorization: Bearer <token>"; a browser's Web UI cannot add that header (it sends its own
// login's token, if any), so the token may also lead the path: a person sets the UI's
// "Codec Server" to http://host:port/<token> in their own browser, which then calls
// /<token>/decode.
import { timingSafeEqual } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { payloadsFromJson, payloadToJson } from './payload-json';

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Origins (scheme://host:port) allowed to call from a browser: the Web UI's. */
  origins: string[];
  /** When set, requests without "Authorization: Bearer <token>" are refused with 401. */
  token?: string;
}

export interface RunningCodecServer {
  url: string;
  close(): Promise<void>;
}

/** A history's payloads for one page of the Web UI: Temporal's own limit per payload is 2 MB. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;
const ALLOWED_HEADERS = 'content-type, x-namespace, authorization';

/** What a codec server refuses to start with; the CLI reports it as a usage error. */
export class CodecServerRefused extends Error {}

export function createCodecServer(options: CodecServerOptions & { allowedHosts?: string[] }): http.Server {
  return http.createServer((req, res) => {
    // DNS rebinding: a page of any site can make the browser call a name that resolves to
    // 127.0.0.1, but it cannot make the Host header say 127.0.0.1 or localhost.
    if (options.allowedHosts && !options.allowedHosts.includes((req.headers.host ?? '').toLowerCase())) {
      return reply(res, 421, { error: 'this codec server answers only to its own address' });
    }
    handle(options, req, res).catch((err) => reply(res, 500, { error: `codec server: ${(err as Error).message}` }));
  });
}

/** Whether `host` is a loopback address (or localhost): only this machine can connect. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/** Listens on host:port (0 = any free port) and says where. */
export async function startCodecServer(
  options: CodecServerOptions & { host?: string; port?: number },
): Promise<RunningCodecServer> {
  const host = options.host ?? '127.0.0.1';
  const loopback = isLoopback(host);
  // Whoever reaches /decode reads every run's inputs: beyond this machine, only with a token.
  if (!loopback && !options.token) {
    throw new CodecServerRefused(
      `refusing to serve ${host} without a token: anyone who reaches it would read every run (set RUNBOOK_CODEC_TOKEN)`,
    );
  }
  // Tokenless on loopback: the Host header must name this machine (checked once the port is known).
  const allowedHosts: string[] = [];
  const server = createCodecServer({ ...options, allowedHosts: loopback ? allowedHosts : undefined });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  allowedHosts.push(
    ...['127.0.0.1', 'localhost', '[::1]', host.includes(':') ? `[${host}]` : host].map((h) => `${h}:${port}`),
  );
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(options: CodecServerOptions, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const origin = req.headers.origin;
  if (origin && options.origins.includes(origin)) {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Vary', 'Origin');
  }
  // Preflight carries no credentials: answered for anyone, the browser enforces the origin.
  if (req.method === 'OPTIONS') {
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    res.setHeader('Access-Control-Max-Age', '600');
    res.writeHead(204).end();
    return;
  }
  const route = /^(?:\/([^/]+))?\/(encode|decode)\/?$/.exec(new URL(req.url ?? '/', 'http://codec').pathname);
  if (!route) return reply(res, 404, { error: 'not found: POST /decode or /encode' });
  const [, pathToken, action] = route;
  if (req.method !== 'POST') return reply(res, 405, { error: `${action} takes POST` });
  if (
    options.token &&
    !sameSecret(bearer(req.headers.authorization), options.token) &&
    !sameSecret(pathToken && decodeURIComponent(pathToken), options.token)
  ) {
    res.setHeader('WWW-Authenticate', 'Bearer');
    return reply(res, 401, { error: 'a bearer token is required' });
  }
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES)
    return reply(res, 413, { error: `request body over ${MAX_BODY_BYTES} bytes` });
  let payloads: Payload[];
  try {
    payloads = payloadsFromJson(JSON.parse(await readBody(req)));
  } catch (err) {
    if (err instanceof TooLarge) return reply(res, 413, { error: err.message });
    return reply(res, 400, { error: `expected {"payloads": [...]}: ${(err as Error).message}` });
  }
  let result: Payload[];
  try {
    result = action === 'decode' ? await options.codec.decode(payloads) : await options.codec.encode(payloads);
  } catch (err) {
    return reply(res, 422, { error: (err as Error).message });
  }
  reply(res, 200, { payloads: result.map(payloadToJson) });
}

function bearer(header: string | undefined): string | undefined {
  return /^Bearer (.+)$/i.exec(header ?? '')?.[1];
}

function sameSecret(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

class TooLarge extends Error {}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new TooLarge(`request body over ${MAX_BODY_BYTES} bytes`));
        req.pause();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}
