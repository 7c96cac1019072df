// Payloads inside a history as JSON (what `temporal workflow show --output json` prints and the
// Web UI downloads): found wherever they sit, and decoded in place.
import type { PayloadCodec } from '@temporalio/common';
import { ENCODING } from './aes-gcm-codec';
import { payloadsFromJson, payloadToJson } from './payload-json';

type JsonPayload = { metadata: Record<string, string>; data?: string };

const ENCRYPTED = Buffer.from(ENCODING).toString('base64');

/** Every encrypted payload object in a parsed history document. */
export function encryptedPayloads(doc: unknown): JsonPayload[] {
  const found: JsonPayload[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const metadata = (node as JsonPayload).metadata;
      if (metadata && typeof metadata === 'object' && metadata.encoding === ENCRYPTED) found.push(node as JsonPayload);
      else Object.values(node).forEach(walk);
    }
  };
  walk(doc);
  return found;
}

/** Replaces each encrypted payload of `doc` with its plain form; returns how many it decoded. */
export async function decodeHistoryJson(doc: unknown, codec: PayloadCodec): Promise<number> {
  const sealed = encryptedPayloads(doc);
  const opened = await codec.decode(payloadsFromJson({ payloads: sealed }));
  sealed.forEach((node, i) => {
    for (const key of Object.keys(node)) delete (node as Record<string, unknown>)[key];
    Object.assign(node, payloadToJson(opened[i]));
  });
  return sealed.length;
}
