// Proven identity: what the worker offers workflows to check a signed start or decision.
export { proveStart } from './start';
export { verifySignature, verifySignatures } from './verify';
