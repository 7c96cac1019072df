// Signing on the operator's machine: `ssh-keygen -Y sign`, with a key file (`--key`) or with
// the operator's ssh-agent (the private key never leaves it; hardware `sk-` keys ask for a touch).
// Run with an argument vector, never a shell; the message goes on standard input.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from '../errors';
import {
  canonicalMessage,
  DEFAULT_VALIDITY_MS,
  MAX_VALIDITY_MS,
  SIGNATURE_NAMESPACE,
  startSubject,
  type Claim,
  type Signed,
} from '../../common/signed-message';
import { loadPeople, PEOPLE_FILE } from './people';
import type { RunInput } from '../../common/shared';

export type Signature = Required<Signed>;

export interface Signer {
  /** The person, as named in people.yaml. */
  as: string;
  /**
   * A private key file, or a public one whose private half is in the agent; default: the agent's
   * key that people.yaml lists for `as`.
   */
  key?: string;
  /** How long the signature is good for; default 15 minutes, at most 24 hours. */
  validityMs?: number;
}

/** Signs `claim` (minus its expiry, which the signer's validity sets) and returns what a decision or start carries. */
export async function signClaim(claim: Omit<Claim, 'expires'>, signer: Signer): Promise<Signature> {
  const validity = signer.validityMs ?? DEFAULT_VALIDITY_MS;
  if (!(validity > 0 && validity <= MAX_VALIDITY_MS)) {
    throw new UsageError('--expires must be more than 0 and at most 24h');
  }
  const expires = new Date(Date.now() + validity).toISOString();
  const message = canonicalMessage({ ...claim, expires });
  const signature = signer.key
    ? await sshSign(expandHome(signer.key), message)
    : await withAgentKey(signer.as, (pub) => sshSign(pub, message));
  return { expires, signature };
}

/** The initiator's signature over a run about to start. */
export function signStart(input: RunInput, runId: string, namespace: string, signer: Signer): Promise<Signature> {
  const subject = startSubject(input.runbook, input.env, input.params);
  const by = input.initiator;
  return signClaim({ namespace, runId, action: 'start', gate: '', nonce: runId, by, subject, comment: '' }, signer);
}

/** The creator's signature over a schedule about to be created: its runs are then theirs. */
export function signSchedule(id: string, input: RunInput, namespace: string, signer: Signer): Promise<Signature> {
  const subject = startSubject(input.runbook, input.env, input.params);
  const by = input.initiator;
  return signClaim({ namespace, runId: id, action: 'schedule', gate: '', nonce: id, by, subject, comment: '' }, signer);
}

function expandHome(p: string): string {
  return p.startsWith('~/') ? path.join(os.homedir(), p.slice(2)) : p;
}

/** Finds which of `person`'s inventory keys the agent holds, and hands its public half to `fn` as a file. */
async function withAgentKey<T>(person: string, fn: (pubFile: string) => Promise<T>): Promise<T> {
  const listed = loadPeople().get(person)?.keys ?? [];
  if (!listed.length) {
    throw new UsageError(`${person} has no keys in the inventory's ${PEOPLE_FILE}: ask for yours to be added`);
  }
  if (!process.env.SSH_AUTH_SOCK) {
    throw new UsageError('no ssh-agent (SSH_AUTH_SOCK is not set): ssh-add your key to one, or pass --key <path>');
  }
  const agent = await run('ssh-add', ['-L'], '');
  const held = agent.code === 0 ? agent.stdout.split('\n').map((l) => l.split(' ').slice(0, 2).join(' ')) : [];
  const key = listed.find((k) => held.includes(k));
  if (!key) {
    throw new UsageError(`none of ${person}'s keys in ${PEOPLE_FILE} is in your ssh-agent: ssh-add it, or use --key`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-sign-'));
  try {
    const pub = path.join(dir, 'key.pub');
    fs.writeFileSync(pub, `${key}\n`, { mode: 0o600 });
    return await fn(pub);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function sshSign(keyFile: string, message: string): Promise<string> {
  if (!fs.existsSync(keyFile)) throw new UsageError(`--key ${keyFile}: no such file`);
  const signed = await run('ssh-keygen', ['-Y', 'sign', '-q', '-f', keyFile, '-n', SIGNATURE_NAMESPACE], message);
  if (signed.code !== 0 || !signed.stdout.startsWith('-----BEGIN SSH SIGNATURE-----')) {
    const why = signed.stderr
      .trim()
      .split('\n')
      .filter((l) => !/^Signing data/.test(l))
      .join('; ');
    throw new UsageError(`ssh-keygen could not sign with ${keyFile}: ${why || `exit ${signed.code}`}`);
  }
  return signed.stdout;
}

function run(cmd: string, args: string[], input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: 120_000, maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      const code = (err as { code?: unknown } | null)?.code;
      if (err && typeof code !== 'number') reject(new UsageError(`${cmd} could not run: ${err.message}`));
      else resolve({ code: typeof code === 'number' ? code : 0, stdout, stderr });
    });
    // A command that does not read its input (find-principals) may exit first: its exit code says what happened.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}
