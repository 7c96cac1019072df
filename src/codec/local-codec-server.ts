// The codec server that `npm run server` and the demo run beside the local dev server, so the
// local operator (who holds the local key ring anyway) sees runs decrypted in the Web UI.
// RUNBOOK_CODEC_ENDPOINT=<url> points the UI at a codec server run elsewhere instead
// (`runbook codec-server`); RUNBOOK_CODEC_ENDPOINT=none leaves the UI showing ciphertext.
import { startCodecServer, type RunningCodecServer } from './codec-server';
import { payloadCodec } from './data-converter';

export const DEFAULT_CODEC_PORT = 8888;

export interface UiCodec {
  /** What to pass as the dev server's --ui-codec-endpoint, if anything. */
  endpoint?: string;
  /** Set when we started the server here. */
  server?: RunningCodecServer;
  note: string;
}

export async function codecForLocalUi(uiUrl: string): Promise<UiCodec> {
  const configured = process.env.RUNBOOK_CODEC_ENDPOINT;
  if (configured === 'none')
    return { note: 'Web UI without a codec server (RUNBOOK_CODEC_ENDPOINT=none): payloads show as ciphertext' };
  if (configured) return { endpoint: configured, note: `Web UI decodes through ${configured}` };
  const port = Number(process.env.RUNBOOK_CODEC_PORT || DEFAULT_CODEC_PORT);
  const origins = uiOrigins(uiUrl);
  try {
    const server = await startCodecServer({
      codec: payloadCodec(),
      origins,
      token: process.env.RUNBOOK_CODEC_TOKEN || undefined,
      port,
    });
    return { endpoint: server.url, server, note: `codec server on ${server.url}: the Web UI shows payloads decrypted` };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    return {
      note: `port ${port} is taken, so no codec server was started (RUNBOOK_CODEC_PORT): the Web UI shows ciphertext`,
    };
  }
}

/** A Web UI's origin and, for a local UI, its twin: localhost and 127.0.0.1 are different origins. */
export function uiOrigins(uiUrl: string): string[] {
  const origin = new URL(uiUrl).origin;
  return [
    ...new Set([
      origin,
      origin.replace('//localhost:', '//127.0.0.1:'),
      origin.replace('//127.0.0.1:', '//localhost:'),
    ]),
  ];
}
