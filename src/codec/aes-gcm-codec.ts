// The payload codec: every payload the worker and the CLI write is sealed with AES-256-GCM
// under the key ring's active key, so the history (and whoever reads the server's database)
// holds only ciphertext. The key id travels in the payload's metadata, so after a rotation
// the old keys still open what they sealed. Payloads without our encoding pass unchanged:
// recorded histories from before encryption, and the plain JSON the Web UI sends as a signal.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ApplicationFailure, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { KeyRing } from './keys';
import { FailureType } from '../../common/failure-types';

export const ENCODING = 'binary/encrypted';
export const KEY_ID_KEY = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export class AesGcmCodec implements PayloadCodec {
  constructor(private readonly ring: KeyRing) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const keyId = this.ring.activeKeyId;
    const key = this.ring.keys.get(keyId)!;
    return payloads.map((payload) => ({
      metadata: { encoding: utf8.encode(ENCODING), [KEY_ID_KEY]: utf8.encode(keyId) },
      data: seal(key, keyId, temporal.api.common.v1.Payload.encode(payload).finish()),
    }));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (!isEncrypted(payload)) return payload;
      const keyId = fromUtf8.decode(payload.metadata![KEY_ID_KEY] ?? new Uint8Array());
      const key = this.ring.keys.get(keyId);
      // Non-retryable: no retry finds a key that is not in the ring, nor repairs ciphertext.
      if (!key)
        throw ApplicationFailure.nonRetryable(
          `payload encrypted with key ${JSON.stringify(keyId)}, which this key ring does not have (RUNBOOK_CODEC_KEYS)`,
          FailureType.UnknownCodecKey,
        );
      const decoded = temporal.api.common.v1.Payload.decode(open(key, keyId, payload.data ?? new Uint8Array()));
      return { metadata: decoded.metadata, data: decoded.data };
    });
  }
}

export function isEncrypted(payload: Payload): boolean {
  const encoding = payload.metadata?.encoding;
  return encoding !== undefined && encoding !== null && fromUtf8.decode(encoding) === ENCODING;
}

// iv | ciphertext | tag. The key id is authenticated data: a payload relabelled with another
// key id does not open.
function seal(key: Buffer, keyId: string, plain: Uint8Array): Uint8Array {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(utf8.encode(keyId));
  return Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

function open(key: Buffer, keyId: string, sealed: Uint8Array): Uint8Array {
  const bytes = Buffer.from(sealed);
  if (bytes.length < IV_BYTES + TAG_BYTES)
    throw ApplicationFailure.nonRetryable('encrypted payload is too short to be ours', FailureType.BadCiphertext);
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
  decipher.setAAD(utf8.encode(keyId));
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw ApplicationFailure.nonRetryable(
      `encrypted payload (key ${keyId}) failed authentication: ` +
        `it was altered, or sealed under another key with that id`,
      FailureType.BadCiphertext,
    );
  }
}
