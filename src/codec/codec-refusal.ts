// A run whose input no worker can open (its key ring lacks the key the sender sealed it under)
// never runs: each workflow task fails in the worker, which the sender does not see. The CLI
// reads those failures from the run's history and says which key is missing, instead of
// waiting for an admission that cannot come.
import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { AesGcmCodec, isEncrypted, KEY_ID_KEY } from './aes-gcm-codec';
import type { KeyRing } from './keys';

const fromUtf8 = new TextDecoder();
const MISSING_KEY = /payload encrypted with key "([^"]*)", which this key ring does not have/;

function keyIdOf(payload: Payload): string {
  return fromUtf8.decode(payload.metadata?.[KEY_ID_KEY] ?? new Uint8Array());
}

/** What a workflow task failure says, opened with our ring where it can be. */
async function failureText(
  failure: temporal.api.failure.v1.IFailure,
  ring: KeyRing,
): Promise<{ text: string } | { sealedUnder: string }> {
  const encoded = failure.encodedAttributes as Payload | null | undefined;
  if (!encoded || !isEncrypted(encoded)) return { text: failure.message ?? '' };
  const keyId = keyIdOf(encoded);
  if (!ring.keys.has(keyId)) return { sealedUnder: keyId };
  const [opened] = await new AesGcmCodec(ring).decode([encoded]);
  const attrs = JSON.parse(fromUtf8.decode(opened.data ?? new Uint8Array())) as { message?: unknown };
  return { text: String(attrs.message ?? '') };
}

/**
 * Why no worker can open run `runId`'s payloads, if its workflow tasks fail for that; undefined
 * while they do not (no task yet, or a failure of another kind).
 */
export async function codecRefusal(client: Client, runId: string, ring: KeyRing): Promise<string | undefined> {
  const history = await client.workflow.getHandle(runId).fetchHistory();
  for (const event of history.events ?? []) {
    const failure = event.workflowTaskFailedEventAttributes?.failure;
    if (!failure) continue;
    const read = await failureText(failure, ring);
    const ours = `this CLI's key ring (RUNBOOK_CODEC_KEYS) seals under key ${JSON.stringify(ring.activeKeyId)}`;
    const fix = 'RUNBOOK_CODEC_KEYS must name the ring the workers use (`runbook codec-keys` shows its key ids)';
    if ('sealedUnder' in read)
      return (
        `no worker can open ${runId}: ${ours}; a worker failed its task on the run and sealed why under ` +
        `key ${JSON.stringify(read.sealedUnder)}, which this ring does not have: the rings differ; ${fix}`
      );
    const missing = MISSING_KEY.exec(read.text);
    if (missing)
      return (
        `no worker can open ${runId}: the worker's key ring does not have key ${JSON.stringify(missing[1])}, ` +
        `which it was sealed under (${ours}); ${fix}`
      );
  }
  return undefined;
}
