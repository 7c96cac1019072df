// A PostgreSQL SCRAM-SHA-256 password verifier (RFC 5802, RFC 7677), made on the worker. ALTER
// ROLE given a verifier stores it as it is, so the clear password never reaches the database
// host, nor its server log when statements are logged. Helpers only: not an activity.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/** PostgreSQL's own choices: 4096 iterations, a 16-byte salt. */
const ITERATIONS = 4096;
const SALT_BYTES = 16;

/**
 * Passwords the verifier and the .env's URL can carry without a transformation: printable ASCII
 * without spaces (SASLprep leaves those unchanged), long enough to be worth rotating to.
 */
export const DATABASE_PASSWORD = /^[\x21-\x7e]{16,200}$/;

export interface ScramKeys {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

export function scramKeys(password: string, salt: Buffer, iterations = ITERATIONS): ScramKeys {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  return {
    salt,
    iterations,
    storedKey: createHash('sha256').update(clientKey).digest(),
    serverKey: createHmac('sha256', salted).update('Server Key').digest(),
  };
}

/** `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, as pg_authid.rolpassword holds it. */
export function scramVerifier(password: string, salt: Buffer = randomBytes(SALT_BYTES)): string {
  const k = scramKeys(password, salt);
  const b64 = (b: Buffer) => b.toString('base64');
  return `SCRAM-SHA-256$${k.iterations}:${b64(k.salt)}$${b64(k.storedKey)}:${b64(k.serverKey)}`;
}
