// Where and as whom to connect: resolved on the worker from the inventory, so workflow
// inputs carry only an environment and a host name.
import * as fs from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { DEFAULT_PRIVATE_KEY, expandPath, loadEnvironment, type Environment } from '../../src/inventory';
import { FailureType } from '../../common/failure-types';

/** A host the worker logs in to: the target itself, or the jump host it is reached through. */
export interface SshHop {
  address: string;
  port: number;
  username: string;
}

export interface SshTarget extends SshHop {
  /** "env/host", for messages and pool keys. */
  name: string;
  /** A key file; with an agent too, the key is offered first. */
  privateKeyPath?: string;
  /** An ssh-agent's socket (`ssh.agent`), whose keys are offered. */
  agentSocket?: string;
  /** Checked for the target's key under the target's own name, and for the jump host's under its. */
  knownHostsPath: string;
  /** Reached only through this host (`ssh.jump`, or the host's own `jump`). */
  jump?: SshHop;
  /** `openssh`: OpenSSH's own ssh with a ControlMaster (activities/ssh/openssh.ts); else ssh2. */
  transport?: 'openssh';
}

export interface HostRef {
  env: string;
  host: string;
  /** Log in as this user instead of the inventory's (provision switches to its ops user). */
  login?: string;
}

/**
 * The connection the inventory describes for a host, without touching a file: the host's own
 * `user`, `port` and `jump` over the environment's `ssh` ones; a host's `jump: none` reaches it
 * directly. Paths are expanded (`~`, `${VAR}`): an unset variable is an InventoryError.
 */
export function targetFor(environment: Environment, { host, login }: { host: string; login?: string }): SshTarget {
  const h = environment.hosts[host];
  if (!h) {
    throw ApplicationFailure.nonRetryable(
      `no host ${JSON.stringify(host)} in environment ${environment.environment} ` +
        `(hosts: ${Object.keys(environment.hosts).join(', ')})`,
      FailureType.BadInventory,
    );
  }
  const ssh = environment.ssh;
  const jump = h.jump === undefined ? ssh.jump : h.jump === 'none' ? undefined : h.jump;
  const keyFile = ssh.privateKey ?? (ssh.agent ? undefined : DEFAULT_PRIVATE_KEY);
  return {
    name: login ? `${environment.environment}/${login}@${host}` : `${environment.environment}/${host}`,
    address: h.address,
    port: h.port ?? ssh.port ?? 22,
    username: login ?? h.user ?? ssh.user,
    ...(keyFile ? { privateKeyPath: expandPath(keyFile) } : {}),
    ...(ssh.agent ? { agentSocket: expandPath(ssh.agent) } : {}),
    knownHostsPath: expandPath(ssh.knownHosts),
    ...(jump ? { jump: { address: jump.address, port: jump.port ?? 22, username: jump.user ?? ssh.user } } : {}),
    ...(ssh.transport === 'openssh' ? { transport: 'openssh' as const } : {}),
  };
}

export function resolveTarget({ env, host, login }: HostRef): SshTarget {
  let target: SshTarget;
  try {
    target = targetFor(loadEnvironment(env), { host, login });
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    throw ApplicationFailure.nonRetryable((err as Error).message, FailureType.BadInventory);
  }
  const files: [string, string | undefined][] = [
    ['private key', target.privateKeyPath],
    ['ssh-agent socket', target.agentSocket],
    ['known_hosts', target.knownHostsPath],
  ];
  for (const [what, file] of files) {
    if (file !== undefined && !fs.existsSync(file))
      throw ApplicationFailure.nonRetryable(
        `${target.name}: ${what} file ${file} does not exist`,
        FailureType.BadInventory,
      );
  }
  return target;
}
