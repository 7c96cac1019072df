// The payload codec's key ring: every key that may have encrypted a payload (so old runs stay
// readable after a rotation) and the one active key new payloads are encrypted with.
//
// A keys file is JSON, readable by its owner only:
//   { "active": "2026-11", "keys": { "2026-11": "<base64, 32 bytes>", "2026-05": "<old key>" } }
// RUNBOOK_CODEC_KEYS names it. Without it a process refuses to start: a ring made silently
// seals what no worker can open. Only the local dev server's scripts (npm run server, demo,
// worker, runbook in a clone) set RUNBOOK_CODEC_KEYS_AUTO=1, which makes the local default
// <state dir>/codec-keys.json the first time and says so.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stateDir } from '../config';
import { ownerOnlyProblem } from './private-file';

export const KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

export interface KeyRing {
  activeKeyId: string;
  keys: ReadonlyMap<string, Buffer>;
}

interface KeysFile {
  active: string;
  keys: Record<string, string>;
}

export class KeyRingError extends Error {}

export function defaultKeysFile(): string {
  return path.join(stateDir(), 'codec-keys.json');
}

export const AUTO_KEYS = 'RUNBOOK_CODEC_KEYS_AUTO';

/** Why a process has no key ring, and how to give it one. */
export function noKeyRingMessage(): string {
  return (
    'no codec key ring: set RUNBOOK_CODEC_KEYS to the key ring file the workers and CLIs share ' +
    '(`RUNBOOK_CODEC_KEYS=<file> runbook codec-keys --create` makes one; `runbook codec-keys` shows ' +
    `its key ids); only the local dev server's scripts make one of their own (${AUTO_KEYS}=1)`
  );
}

/**
 * The key ring of RUNBOOK_CODEC_KEYS; else, with RUNBOOK_CODEC_KEYS_AUTO=1 (the local dev
 * server's scripts), the local default, made on first use; else a KeyRingError.
 */
export function loadKeyRing(): KeyRing {
  const configured = process.env.RUNBOOK_CODEC_KEYS;
  if (configured) return readKeyRing(configured);
  if (process.env[AUTO_KEYS] !== '1') throw new KeyRingError(noKeyRingMessage());
  const file = defaultKeysFile();
  if (!fs.existsSync(file) && createKeysFile(file))
    console.error(`made a codec key ring for the local dev server: ${file} (${AUTO_KEYS}=1)`);
  return readKeyRing(file);
}

export function readKeyRing(file: string): KeyRing {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new KeyRingError(`codec keys file ${file} does not exist (RUNBOOK_CODEC_KEYS)`);
  }
  const problem = ownerOnlyProblem(stat);
  if (problem) throw new KeyRingError(`codec keys file ${file} ${problem}`);
  let doc: KeysFile;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new KeyRingError(`codec keys file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  return parseKeyRing(doc, file);
}

export function parseKeyRing(doc: KeysFile, where: string): KeyRing {
  if (!doc || typeof doc !== 'object' || typeof doc.keys !== 'object' || doc.keys === null) {
    throw new KeyRingError(`${where}: expected {"active": "<key id>", "keys": {"<key id>": "<base64 key>"}}`);
  }
  const keys = new Map<string, Buffer>();
  for (const [id, encoded] of Object.entries(doc.keys)) {
    if (!KEY_ID.test(id))
      throw new KeyRingError(`${where}: invalid key id ${JSON.stringify(id)} (letters, digits, . _ -)`);
    const key = typeof encoded === 'string' ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
    // The key itself never goes into a message.
    if (key.length !== KEY_BYTES) throw new KeyRingError(`${where}: key ${id} is not ${KEY_BYTES} bytes of base64`);
    keys.set(id, key);
  }
  if (typeof doc.active !== 'string' || !keys.has(doc.active)) {
    throw new KeyRingError(`${where}: "active" must name one of its keys (${[...keys.keys()].join(', ') || 'none'})`);
  }
  return { activeKeyId: doc.active, keys };
}

export function newKeyId(): string {
  return `${new Date().toISOString().slice(0, 10)}-${randomBytes(3).toString('hex')}`;
}

/** Writes a keys file holding one new key, unless the file exists (then it is left alone): made or not. */
export function createKeysFile(file: string): boolean {
  const id = newKeyId();
  return writeKeysFile(
    file,
    { active: id, keys: { [id]: randomBytes(KEY_BYTES).toString('base64') } },
    { exclusive: true },
  );
}

/** Adds a new key and makes it the active one; the old keys stay, to decrypt what they encrypted. */
export function rotateKeysFile(file: string): string {
  const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as KeysFile;
  parseKeyRing(doc, file);
  let id = newKeyId();
  while (id in doc.keys) id = newKeyId();
  writeKeysFile(
    file,
    { active: id, keys: { ...doc.keys, [id]: randomBytes(KEY_BYTES).toString('base64') } },
    { exclusive: false },
  );
  return id;
}

function writeKeysFile(file: string, doc: KeysFile, { exclusive }: { exclusive: boolean }): boolean {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // Written whole under a temporary name, then linked (first writer wins: a worker and a CLI
  // starting together agree on one key) or renamed into place.
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    if (!exclusive) fs.renameSync(tmp, file);
    else {
      try {
        fs.linkSync(tmp, file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        return false;
      }
    }
    return true;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
