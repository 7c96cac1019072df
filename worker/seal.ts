// The worker's seal on what its admission activities answer (a start proven, a signature
// checked, a run's rules). Anyone with Temporal access can complete a running activity by its
// id with a result of their choosing (RespondActivityTaskCompletedById): a verdict "approved by
// alice" that no worker gave. The seal is an HMAC over the result and the activity it answers,
// keyed by a key only the workers hold (operators hold the codec keys, not this one), so the
// worker can later tell the results it made from the ones someone else wrote into the history.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stateDir } from '../src/config';
import { ownerOnlyProblem } from '../src/codec/private-file';

/** Which activity a sealed result answers. */
export interface SealedFor {
  namespace: string;
  workflowId: string;
  runId: string;
  activityId: string;
  activityType: string;
}

export interface SealKey {
  file: string;
  key: Buffer;
  /** Results completed before this instant were made before the workers sealed anything. */
  sinceMs: number;
}

/** The seal key's file: RUNBOOK_WORKER_KEY, else the worker's state directory. */
export function sealKeyFile(): string {
  return process.env.RUNBOOK_WORKER_KEY || path.join(stateDir(), 'worker-seal.key');
}

/**
 * Makes the seal key file, once (a worker starting beside this one reads all of it or none).
 * Every worker of a namespace is given this same file.
 */
export function makeSealKey(file = sealKeyFile()): string {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const made = { key: crypto.randomBytes(32).toString('base64'), since: new Date().toISOString() };
  const aside = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
  fs.writeFileSync(aside, JSON.stringify(made) + '\n', { mode: 0o600, flag: 'wx' });
  try {
    fs.linkSync(aside, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    throw new Error(`the worker seal key ${file} already exists: it is kept`);
  } finally {
    fs.unlinkSync(aside);
  }
  return file;
}

/**
 * Reads the seal key. It is never made unasked (each worker making its own would refuse the
 * others' verdicts), except by a clone's local dev scripts (RUNBOOK_CODEC_KEYS_AUTO=1, as for
 * the codec key ring), which make it on first use and say so.
 */
export function loadSealKey(file = sealKeyFile()): SealKey {
  if (!fs.existsSync(file)) {
    if (process.env.RUNBOOK_CODEC_KEYS_AUTO !== '1')
      throw new Error(
        `no worker seal key at ${file} (RUNBOOK_WORKER_KEY): give every worker of the namespace the same ` +
          'file, made once with `runbook-worker --make-seal-key` (docs/install.md)',
      );
    try {
      makeSealKey(file);
      console.warn(`runbook worker: made the worker seal key ${file} (RUNBOOK_CODEC_KEYS_AUTO=1, a dev default)`);
    } catch {
      // Another worker on this machine made it first: read theirs.
    }
  }
  const problem = ownerOnlyProblem(fs.statSync(file));
  if (problem) throw new Error(`the worker seal key ${file} ${problem}`);
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { key?: unknown; since?: unknown };
  const key = Buffer.from(String(parsed.key ?? ''), 'base64');
  const sinceMs = Date.parse(String(parsed.since ?? ''));
  if (key.length < 32 || Number.isNaN(sinceMs))
    throw new Error(`the worker seal key ${file} is not {"key": <32 bytes, base64>, "since": <ISO time>}`);
  return { file, key, sinceMs };
}

export function seal(key: SealKey, what: SealedFor, result: unknown): string {
  const message = JSON.stringify([
    what.namespace,
    what.workflowId,
    what.runId,
    what.activityId,
    what.activityType,
    canonical(result),
  ]);
  return crypto.createHmac('sha256', key.key).update(message).digest('base64');
}

export function sealHolds(key: SealKey, what: SealedFor, result: unknown, sealed: unknown): boolean {
  if (typeof sealed !== 'string') return false;
  const expected = Buffer.from(seal(key, what, result));
  const given = Buffer.from(sealed);
  return expected.length === given.length && crypto.timingSafeEqual(expected, given);
}

/** JSON with object keys sorted, so a result reads the same after a trip through history. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
