// The OpenSSH transport (docs/ssh.md): OpenSSH's own `ssh`, a ControlMaster per host, every
// option from the inventory as argv (`-F none`: the worker's ~/.ssh/config changes nothing).
// It verifies host certificates against `@cert-authority` lines, which ssh2 cannot.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { hostEntries } from './known-hosts';
import { shellCommand } from './quote';
import type { SshHop, SshTarget } from './target';
import { FailureType } from '../../common/failure-types';

/** ssh_config splits values on blanks and expands `%` tokens: paths carrying them are refused. */
const PLAIN_PATH = /^[^\s"'%\\]+$/;

function checkedPath(target: SshTarget, what: string, p: string): string {
  if (!PLAIN_PATH.test(p))
    throw ApplicationFailure.nonRetryable(
      `${target.name}: ${what} ${JSON.stringify(p)} has blanks, quotes, % or \\, which ssh's options cannot carry`,
      FailureType.BadInventory,
    );
  return p;
}

const hop = (h: SshHop) => `${h.username}@${h.address}`;

/** Host key and login options, shared by the target's ssh and the jump host's. */
function trustOptions(target: SshTarget): string[] {
  const o = (s: string) => ['-o', s];
  return [
    '-F',
    'none',
    ...o('BatchMode=yes'),
    ...o('StrictHostKeyChecking=yes'),
    ...o(`UserKnownHostsFile=${checkedPath(target, 'knownHosts', target.knownHostsPath)}`),
    ...o('GlobalKnownHostsFile=/dev/null'),
    ...o('UpdateHostKeys=no'),
    ...o('CheckHostIP=no'),
    // No key file named: `none` replaces ssh's default ones (~/.ssh/id_*), so only the agent's keys are offered.
    ...o(`IdentityFile=${target.privateKeyPath ? checkedPath(target, 'privateKey', target.privateKeyPath) : 'none'}`),
    ...(target.privateKeyPath ? o('IdentitiesOnly=yes') : []),
    ...o(`IdentityAgent=${target.agentSocket ? checkedPath(target, 'agent', target.agentSocket) : 'none'}`),
    ...o('ConnectTimeout=10'),
    ...o('ServerAliveInterval=10'),
    ...o('ServerAliveCountMax=3'),
  ];
}

/**
 * The options for `ssh OPTIONS -- user@address COMMAND`. A jump host is a ProxyCommand running
 * `ssh -W` with the same trust options (ProxyJump would not pass `UserKnownHostsFile` or the
 * identity on to the jump host's ssh), so its key is checked in the same known_hosts.
 */
/** `controlPath` `none`: a login of its own, without the host's master (the health check's). */
export function opensshOptions(target: SshTarget, controlPath: string): string[] {
  const jump = target.jump;
  const proxy = jump
    ? ['ssh', ...trustOptions(target), '-p', String(jump.port), '-W', '[%h]:%p', '--', hop(jump)]
    : undefined;
  return [
    ...trustOptions(target),
    ...(proxy ? ['-o', `ProxyCommand=${shellCommand(proxy)}`] : []),
    ...(controlPath === 'none'
      ? ['-o', 'ControlMaster=no', '-o', 'ControlPath=none']
      : [
          '-o',
          'ControlMaster=auto',
          '-o',
          `ControlPath=${checkedPath(target, 'control path', controlPath)}`,
          '-o',
          'ControlPersist=300',
        ]),
    '-p',
    String(target.port),
  ];
}

let controlDirPath: string | undefined;

/** A directory of this process's own (0700), short enough for a socket path. */
function controlDir(): string {
  controlDirPath ??= fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-ssh-'));
  return controlDirPath;
}

const masters = new Map<string, { target: SshTarget; controlPath: string }>();

function controlPathFor(target: SshTarget): string {
  const key = JSON.stringify([
    hop(target),
    target.port,
    target.jump,
    target.knownHostsPath,
    target.privateKeyPath,
    target.agentSocket,
  ]);
  const controlPath = path.join(controlDir(), createHash('sha256').update(key).digest('hex').slice(0, 20));
  masters.set(controlPath, { target, controlPath });
  return controlPath;
}

/** What ssh itself says when it gives up (exit 255), as today's failure types. */
export function sshFailure(target: SshTarget, stderr: string): ApplicationFailure | 'lost' | undefined {
  const says = (re: RegExp) => re.test(stderr);
  if (says(/REVOKED HOST KEY|revoked key/i))
    return ApplicationFailure.nonRetryable(
      `${target.name}: ${target.address} presented a host key revoked in ${target.knownHostsPath}: refusing to connect`,
      FailureType.HostKeyRevoked,
    );
  if (says(/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|Certificate invalid/))
    return ApplicationFailure.nonRetryable(
      `${target.name}: host key of ${target.address} does not match ${target.knownHostsPath}: refusing to connect`,
      FailureType.HostKeyMismatch,
    );
  if (says(/Permission denied \(/))
    return ApplicationFailure.nonRetryable(
      `${target.name}: ${target.username}@${target.address} refused our key` +
        (target.agentSocket ? ` and the agent's (${target.agentSocket})` : ''),
      FailureType.SshAuthFailed,
    );
  if (says(/^(ssh: connect to host|kex_exchange_identification|Connection timed out|channel \d+: open failed)/m))
    return ApplicationFailure.retryable(
      `${target.name}: cannot connect to ${target.address}:${target.port}: ${stderr.trim().split('\n').pop()}`,
      FailureType.SshUnreachable,
    );
  // The master's own messages go nowhere once it is in the background; the command's ssh (a mux
  // client) only says that the master went away under it.
  const lost = new RegExp(
    [
      'Connection to \\S+ closed by remote host',
      'client_loop: send disconnect',
      'Timeout, server \\S+ not responding',
      'mux_client_\\w+: .*(failed|Broken pipe)',
    ]
      .map((m) => `^${m}`)
      .join('|'),
    'm',
  );
  if (says(lost)) return 'lost';
  return undefined;
}

export interface Exec {
  /** The remote command's exit code, or null when the connection went away. */
  result: Promise<{ code: number | null; signal?: string }>;
  close(): void;
}

export interface ExecHandlers {
  stdin?: string;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
}

export interface OpenSshProcess extends Exec {
  /** The local ssh: its stdin and stdout are the remote command's. */
  child: ChildProcessWithoutNullStreams;
}

/**
 * Starts `command` (shell text for the remote user's shell) on the target through its master;
 * its stdin stays open for the caller. `result` rejects with ssh's own failure (host key, login).
 */
export function spawnOpenSsh(
  target: SshTarget,
  command: string,
  handlers: Omit<ExecHandlers, 'stdin'> = {},
  { fresh = false }: { fresh?: boolean } = {},
): OpenSshProcess {
  let entries;
  try {
    entries = hostEntries(target.knownHostsPath, target.address, target.port);
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`${target.name}: ${(err as Error).message}`, FailureType.BadInventory);
  }
  if (!entries.keys.length && !entries.authorities.length) {
    throw ApplicationFailure.nonRetryable(
      `${target.name}: ${target.address} is not in ${target.knownHostsPath}; ` +
        `add its host key first (ssh-keyscan, checked out of band)`,
      FailureType.UnknownHostKey,
    );
  }
  const options = opensshOptions(target, fresh ? 'none' : controlPathFor(target));
  const args = [...options, '--', hop(target), command];
  const child = spawn('ssh', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  const { onStdout, onStderr } = handlers;
  if (onStdout) child.stdout.on('data', (c: Buffer) => onStdout(c));
  child.stderr.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString('utf8')).slice(-20_000);
    onStderr?.(c);
  });
  child.stdin.on('error', () => undefined);
  const result = new Promise<{ code: number | null; signal?: string }>((resolve, reject) => {
    child.once('error', (err) =>
      reject(
        ApplicationFailure.nonRetryable(`${target.name}: cannot run ssh: ${err.message}`, FailureType.SshUnreachable),
      ),
    );
    child.once('close', (code, signal) => {
      if (code !== 255) return resolve({ code, ...(signal ? { signal } : {}) });
      const failure = sshFailure(target, stderr);
      if (failure === 'lost') resolve({ code: null });
      else if (failure) reject(failure);
      else if (fresh) resolve({ code });
      // A mux client whose master died exits 255 without a word: 255 is the command's own only
      // while the master still runs.
      else void masterRuns(options, target).then((runs) => resolve({ code: runs ? code : null }));
    });
  });
  return { child, result, close: () => void child.kill('SIGTERM') };
}

function masterRuns(options: string[], target: SshTarget): Promise<boolean> {
  return new Promise((resolve) =>
    spawn('ssh', [...options, '-O', 'check', '--', hop(target)], { stdio: 'ignore' })
      .once('close', (code) => resolve(code === 0))
      .once('error', () => resolve(false)),
  );
}

/** Runs `command` on the target through its master, with `stdin` as its whole input. */
export function execOpenSsh(
  target: SshTarget,
  command: string,
  handlers: ExecHandlers = {},
  options: { fresh?: boolean } = {},
): Exec {
  const { child, result, close } = spawnOpenSsh(target, command, handlers, options);
  child.stdin.end(handlers.stdin ?? '');
  return { result, close };
}

/** Ends every master this process opened, and removes their directory (the worker's shutdown, a test's end). */
export async function closeMasters(): Promise<void> {
  const all = [...masters.values()];
  masters.clear();
  const dir = controlDirPath;
  controlDirPath = undefined;
  await Promise.all(
    all.map(
      ({ target, controlPath }) =>
        new Promise<void>((resolve) =>
          spawn('ssh', [...opensshOptions(target, controlPath), '-O', 'exit', '--', hop(target)], { stdio: 'ignore' })
            .once('close', () => resolve())
            .once('error', () => resolve()),
        ),
    ),
  );
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
