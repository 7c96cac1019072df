// People with real SSH keys for the signed-identity tests, made in hooks: a temporary inventory
// directory (searched first) holding people.yaml, an environment that takes signed decisions,
// the keys, and an ssh-agent of the test's own.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { stringify as stringifyYaml } from 'yaml';
import { progressQuery, type ApprovalInput } from '../common/shared';
import { signClaim } from '../src/identity/sign';

export interface SignedInventory {
  dir: string;
  /** The private key file of each person (and of `mallory`, who is in no inventory). */
  key(name: string): string;
  /** "ED25519 SHA256:..." as the worker records it. */
  fingerprint(name: string): string;
  /** Starts an ssh-agent holding `names`' keys; returns its socket. */
  agent(names: string[]): string;
  remove(): void;
}

/**
 * `people` with keys, and environment `env`, protected (so signed), approved by `approvers`. Its
 * hosts and the rest are `base`'s (e.g. the test bed's: test/bed-inventory.ts bedEnvironment),
 * else one worker host.
 */
export function signedInventory(
  env: string,
  people: string[],
  approvers: string[],
  required: number,
  base?: object,
): SignedInventory {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inventory-signed-'));
  const keys = path.join(dir, 'keys');
  fs.mkdirSync(keys, { mode: 0o700 });
  const keyFile = (name: string) => path.join(keys, name);
  for (const name of [...people, 'mallory']) {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@test`, '-f', keyFile(name)]);
  }
  const pub = (name: string) => fs.readFileSync(`${keyFile(name)}.pub`, 'utf8').trim();
  const listed = Object.fromEntries(people.map((p) => [p, { keys: [pub(p)] }]));
  fs.writeFileSync(path.join(dir, 'people.yaml'), stringifyYaml({ people: listed }));
  fs.writeFileSync(
    path.join(dir, `${env}.yaml`),
    stringifyYaml({
      hosts: { worker: { address: '127.0.0.1' } },
      ...base,
      environment: env,
      description: 'takes signed starts and decisions (protected: identity signed by default)',
      protected: true,
      identity: undefined,
      approvals: { required, approvers, timeout: '10m' },
    }),
  );
  const previous = process.env.RUNBOOK_INVENTORY_DIR;
  process.env.RUNBOOK_INVENTORY_DIR = [dir, previous].filter(Boolean).join(':');
  const agents: ChildProcess[] = [];
  return {
    dir,
    key: keyFile,
    fingerprint: (name) => {
      const line = execFileSync('ssh-keygen', ['-lf', `${keyFile(name)}.pub`], { encoding: 'utf8' }).trim();
      const [, fp, , type] = /^\d+ (\S+) (.*) \((\w+)\)$/.exec(line)!;
      return `${type} ${fp}`;
    },
    agent: (names) => {
      const socket = path.join(dir, `agent-${agents.length}.sock`);
      agents.push(spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' }));
      for (let i = 0; i < 100 && !fs.existsSync(socket); i++) execFileSync('sleep', ['0.05']);
      const env = { ...process.env, SSH_AUTH_SOCK: socket };
      for (const name of names) execFileSync('ssh-add', ['-q', keyFile(name)], { env, stdio: 'ignore' });
      return socket;
    },
    remove: () => {
      for (const a of agents) a.kill('SIGTERM');
      process.env.RUNBOOK_INVENTORY_DIR = previous;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A signed decision by `by` (with `key`) at the approval gate open now in `handle`'s run. */
export async function signedDecision(
  handle: WorkflowHandle,
  by: string,
  key: string,
  decision: 'approve' | 'reject' = 'approve',
  comment = '',
): Promise<ApprovalInput> {
  const { gate } = await handle.query(progressQuery);
  if (!gate?.nonce) throw new Error(`${handle.workflowId} has no signed gate open`);
  const claim = {
    namespace: 'default',
    runId: handle.workflowId,
    action: decision,
    gate: gate.name,
    nonce: gate.nonce,
  };
  const signed = await signClaim({ ...claim, by, subject: '', comment }, { as: by, key });
  return { approver: by, decision, ...(comment ? { comment } : {}), ...signed };
}
