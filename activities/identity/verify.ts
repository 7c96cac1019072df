// Checking a signed decision on the worker, against the inventory's keys. ssh-keygen does the
// cryptography: it reads every key type OpenSSH signs with, hardware `sk-` keys included (whose
// signatures cover flags and a counter, not only the message), and it is on every host that
// has OpenSSH. It is run with an argument vector, never a shell; the message goes on its
// standard input, and the person's keys in an allowed_signers file of a private directory.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../common/failure-types';
import {
  canonicalMessage,
  expiryProblem,
  malformedSignature,
  SIGNATURE_NAMESPACE,
  type Claim,
} from '../../common/signed-message';
import { allowedSigners, loadPeople, PEOPLE_FILE, PeopleError, type Person } from '../../src/identity/people';

export type Verified = { ok: true; key: string; signatureId: string } | { ok: false; refused: string };

export interface VerifyRequest {
  claim: Claim;
  signature: string;
  /** When the expiry is judged; default now. A schedule's signature is judged at the schedule's creation. */
  atMs?: number;
}

/** Whether `signature` is `claim.by`'s, over exactly this claim, and not expired. */
export async function verifySignature(req: VerifyRequest): Promise<Verified> {
  const { claim, signature } = req;
  const malformed = malformedSignature({ signature, expires: claim.expires });
  if (malformed) return { ok: false, refused: malformed };
  const expired = expiryProblem(claim.expires, req.atMs ?? Date.now());
  if (expired) return { ok: false, refused: expired };
  const people = readPeople();
  const person = people.get(claim.by);
  if (!person) return { ok: false, refused: `${claim.by} has no keys in the inventory's ${PEOPLE_FILE}` };
  return withFiles(signature, async (dir, sigFile) => {
    const allowed = path.join(dir, 'allowed_signers');
    await fs.writeFile(allowed, allowedSigners(person), { mode: 0o600 });
    const args = ['-Y', 'verify', '-f', allowed, '-I', claim.by, '-n', SIGNATURE_NAMESPACE, '-s', sigFile];
    const run = await sshKeygen(args, canonicalMessage(claim));
    const good = /^Good "[^"]*" signature for \S+ with (\S+) key (SHA256:[A-Za-z0-9+/=]+)/m.exec(run.stdout);
    if (run.code === 0 && good) return { ok: true, key: `${good[1]} ${good[2]}`, signatureId: signatureId(signature) };
    return { ok: false, refused: await whyNot(claim.by, people, dir, sigFile) };
  });
}

/** Signed decisions checked in one activity, one after another: what a run's batched check sends. */
/**
 * The verdicts in an object, not a bare list: the worker seals what admission activities answer
 * (worker/seal.ts), and a seal needs a field to go in.
 */
export async function verifySignatures({ requests }: { requests: VerifyRequest[] }): Promise<{ verdicts: Verified[] }> {
  const verdicts: Verified[] = [];
  // One at a time: ssh-keygen per signature, and a batch is bounded by the run (workflows/kernel/signature-checks.ts).
  for (const req of requests) verdicts.push(await verifySignature(req));
  return { verdicts };
}

/** Whose key made a bad signature: another person's, an unknown one, or the right one over other words. */
async function whyNot(by: string, people: Map<string, Person>, dir: string, sigFile: string): Promise<string> {
  const all = path.join(dir, 'all_signers');
  await fs.writeFile(all, [...people.values()].map(allowedSigners).join(''), { mode: 0o600 });
  const found = await sshKeygen(['-Y', 'find-principals', '-f', all, '-s', sigFile], '');
  const signer = found.code === 0 ? found.stdout.trim().split('\n')[0] : undefined;
  if (!signer) return `bad signature: made with a key that is not in the inventory's ${PEOPLE_FILE}`;
  if (signer !== by) return `bad signature: made with ${signer}'s key, not ${by}'s`;
  return `bad signature: ${by}'s key signed something else (another run, gate, decision, comment or expiry)`;
}

function readPeople(): Map<string, Person> {
  try {
    return loadPeople();
  } catch (err) {
    // A broken people.yaml is the worker's to fix; retrying after the fix goes on.
    if (err instanceof PeopleError) throw ApplicationFailure.retryable(err.message, FailureType.BadInventory);
    throw err;
  }
}

/** Short and stable: the same signature pasted twice is the same id, whatever its line breaks. */
export function signatureId(signature: string): string {
  const body = signature.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  return createHash('sha256').update(body).digest('hex').slice(0, 16);
}

async function withFiles<T>(signature: string, fn: (dir: string, sigFile: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'runbook-verify-'));
  try {
    const sigFile = path.join(dir, 'decision.sig');
    await fs.writeFile(sigFile, signature.endsWith('\n') ? signature : `${signature}\n`, { mode: 0o600 });
    return await fn(dir, sigFile);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function sshKeygen(args: string[], input: string): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = execFile('ssh-keygen', args, { timeout: 10_000, maxBuffer: 64 * 1024 }, (err, stdout, stderr) => {
      const code = (err as { code?: unknown } | null)?.code;
      if (err && typeof code !== 'number') {
        reject(
          ApplicationFailure.retryable(`ssh-keygen could not run: ${err.message}`, FailureType.VerifierUnavailable),
        );
        return;
      }
      resolve({ code: typeof code === 'number' ? code : 0, stdout, stderr });
    });
    // A command that does not read its input (find-principals) may exit first: its exit code says what happened.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}
