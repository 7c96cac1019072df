// `runbook codec-server`: serves the Web UI's codec endpoint, so that a person allowed to (the
// UI's origin, and the bearer token when one is set) sees runs' inputs, progress and approvals
// decrypted in the UI. Without it the UI shows ciphertext.
import { UsageError } from '../src/errors';
import { payloadCodec } from '../src/codec/data-converter';
import { CodecServerRefused, startCodecServer } from '../src/codec/codec-server';
import { DEFAULT_CODEC_PORT, uiOrigins } from '../src/codec/local-codec-server';
import { parse } from './args';
import { printJson, uiUrl } from './output';
import type { Command } from './commands';

export const codecServer: Command = async (args) => {
  const { values, positionals } = parse(args, {
    port: { type: 'string' },
    host: { type: 'string' },
    origin: { type: 'string', multiple: true },
    token: { type: 'string' },
  });
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const port = Number(values.port ?? process.env.RUNBOOK_CODEC_PORT ?? DEFAULT_CODEC_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be a port number, got ${JSON.stringify(values.port)}`);
  const given = values.origin as unknown as string[] | undefined;
  const origins = given?.length ? given : uiOrigins(uiUrl());
  for (const o of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(o);
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.origin !== o)
      throw new UsageError(
        `--origin ${JSON.stringify(o)} is not an origin like http://localhost:8233 (scheme://host:port, no path)`,
      );
  }
  // The environment keeps the token out of `ps`; --token is for trying things out.
  const token = (values.token as string | undefined) ?? (process.env.RUNBOOK_CODEC_TOKEN || undefined);
  const codec = payloadCodec();
  let server;
  try {
    server = await startCodecServer({
      codec,
      origins,
      token,
      host: (values.host as string | undefined) ?? '127.0.0.1',
      port,
    });
  } catch (err) {
    if (err instanceof CodecServerRefused) throw new UsageError(err.message);
    throw err;
  }
  if (values.json) printJson({ url: server.url, origins, token: Boolean(token) });
  else {
    console.log(`codec server on ${server.url} for ${origins.join(', ')}${token ? ' (bearer token required)' : ''}`);
    console.log(
      `  point the Web UI at it: temporal server start-dev --ui-codec-endpoint ${server.url}, ` +
        `or the UI's "Codec Server" setting`,
    );
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return 0;
};
