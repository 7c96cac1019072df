// Failure messages and stack traces go into an encoded payload (so through the codec, so
// encrypted) instead of travelling in clear beside it: an error may name what a run was
// asked to do. Loaded by path, also inside the workflow sandbox: imports nothing but the SDK.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
