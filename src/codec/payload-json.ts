// Payloads in the proto3 JSON form the Web UI, the codec server and `temporal workflow show
// --output json` use: metadata values and data as base64 strings.
import type { Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

/** The proto3 JSON form the UI speaks (bytes as base64) to payloads, and back. */
export function payloadsFromJson(body: unknown): Payload[] {
  const list = (body as { payloads?: unknown })?.payloads;
  if (!Array.isArray(list)) throw new Error('no "payloads" array');
  return list.map((p) => {
    const msg = temporal.api.common.v1.Payload.fromObject(p as Record<string, unknown>);
    return { metadata: msg.metadata, data: msg.data };
  });
}

export function payloadToJson(payload: Payload): Record<string, unknown> {
  return temporal.api.common.v1.Payload.toObject(temporal.api.common.v1.Payload.create(payload), { bytes: String });
}
