// The data converter every client and worker of ours uses: payloads sealed by the AES-GCM
// codec under the key ring, failure messages encoded as payloads so they are sealed too.
import type { DataConverter } from '@temporalio/common';
import { AesGcmCodec } from './aes-gcm-codec';
import { loadKeyRing, type KeyRing } from './keys';

/** For bundleWorkflowCode and WorkerOptions.dataConverter: workflow-side failures are encoded too. */
export const failureConverterPath = require.resolve('./failure-converter');

let loaded: { codec: AesGcmCodec } | undefined;

/** The codec of the configured key ring, loaded once per process. */
export function payloadCodec(): AesGcmCodec {
  loaded ??= { codec: new AesGcmCodec(loadKeyRing()) };
  return loaded.codec;
}

export function dataConverter(ring?: KeyRing): DataConverter {
  return { payloadCodecs: [ring ? new AesGcmCodec(ring) : payloadCodec()], failureConverterPath };
}
