// One SSH connection per host, shared by every command on that host and kept open between
// steps; a dropped connection is forgotten and the next command opens a new one.
import * as fs from 'node:fs';
import { NodeSSH } from 'node-ssh';
import { ApplicationFailure } from '@temporalio/common';
import { blobKeyType, decideHostKey, hostEntries, type HostKeyDecision } from './known-hosts';
import type { Channel } from 'ssh2';
import type { SshHop, SshTarget } from './target';
import { FailureType } from '../../common/failure-types';

const KEY_TYPES: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
};

/**
 * One connection per login, host, route and trust: the same host through a jump host, or checked
 * against another known_hosts, or logged in to with other credentials, is another connection.
 */
function poolKey(target: SshTarget): string {
  const hop = (h: SshHop) => `${h.username}@${h.address}:${h.port}`;
  const trust = JSON.stringify([target.knownHostsPath, target.privateKeyPath, target.agentSocket]);
  return `${hop(target)}${target.jump ? ` via ${hop(target.jump)}` : ''} ${trust}`;
}

/** The jump host as a target of its own: same credentials and known_hosts, no jump of its own. */
function jumpTarget(target: SshTarget, jump: SshHop): SshTarget {
  const { name, privateKeyPath, agentSocket, knownHostsPath } = target;
  return {
    ...jump,
    name: `${name.split('/')[0]}/jump ${jump.address}`,
    ...(privateKeyPath ? { privateKeyPath } : {}),
    ...(agentSocket ? { agentSocket } : {}),
    knownHostsPath,
  };
}

export class SshPool {
  private readonly connections = new Map<string, Promise<NodeSSH>>();

  async get(target: SshTarget): Promise<NodeSSH> {
    const key = poolKey(target);
    const existing = this.connections.get(key);
    if (existing) {
      const ssh = await existing.catch(() => undefined);
      if (ssh?.isConnected()) return ssh;
      this.connections.delete(key);
    }
    const opening = this.open(target);
    this.connections.set(key, opening);
    opening.then(
      (ssh) => {
        const forget = () => {
          if (this.connections.get(key) === opening) this.connections.delete(key);
        };
        ssh.connection?.once('close', forget);
        ssh.connection?.once('end', forget);
        ssh.connection?.on('error', forget);
      },
      () => {
        if (this.connections.get(key) === opening) this.connections.delete(key);
      },
    );
    return opening;
  }

  /** Drops the host's connection, e.g. after a command lost it. */
  forget(target: SshTarget): void {
    const key = poolKey(target);
    const existing = this.connections.get(key);
    this.connections.delete(key);
    void existing?.then((ssh) => ssh.dispose()).catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map((p) => p.then((ssh) => ssh.dispose()).catch(() => undefined)));
  }

  private async open(target: SshTarget): Promise<NodeSSH> {
    let entries;
    try {
      entries = hostEntries(target.knownHostsPath, target.address, target.port);
    } catch (err) {
      throw ApplicationFailure.nonRetryable(`${target.name}: ${(err as Error).message}`, FailureType.BadInventory);
    }
    if (!entries.keys.length) {
      throw ApplicationFailure.nonRetryable(
        `${target.name}: ${target.address} is not in ${target.knownHostsPath}; ` +
          (entries.authorities.length
            ? `only a @cert-authority line names it, and host certificates need the OpenSSH transport (docs/ssh.md)`
            : `add its host key first (ssh-keyscan, checked out of band)`),
        FailureType.UnknownHostKey,
      );
    }
    const known = entries.keys;
    let decision: HostKeyDecision | undefined;
    // Through a jump host: a direct-tcpip channel from it to the target, which the target's SSH
    // session runs over. The jump host's own connection is pooled like any host's.
    const sock = target.jump ? await this.through(target, target.jump) : undefined;
    const ssh = new NodeSSH();
    try {
      await ssh.connect({
        ...(sock ? { sock } : { host: target.address, port: target.port }),
        username: target.username,
        ...(target.privateKeyPath ? { privateKey: fs.readFileSync(target.privateKeyPath, 'utf8') } : {}),
        ...(target.agentSocket ? { agent: target.agentSocket } : {}),
        readyTimeout: 10_000,
        keepaliveInterval: 10_000,
        keepaliveCountMax: 3,
        algorithms: {
          serverHostKey: [...new Set(known.flatMap((k) => KEY_TYPES[blobKeyType(k)] ?? [blobKeyType(k)]))] as never,
        },
        hostVerifier: (key: Buffer) => (decision = decideHostKey(entries, key)) === 'ok',
      });
    } catch (err) {
      ssh.dispose();
      sock?.destroy();
      const message = (err as Error).message;
      if (decision === 'revoked') {
        throw ApplicationFailure.nonRetryable(
          `${target.name}: ${target.address} presented a host key revoked in ${target.knownHostsPath}: ` +
            'refusing to connect',
          FailureType.HostKeyRevoked,
        );
      }
      if (decision && decision !== 'ok') {
        throw ApplicationFailure.nonRetryable(
          `${target.name}: host key of ${target.address} does not match ${target.knownHostsPath}: refusing to connect`,
          FailureType.HostKeyMismatch,
        );
      }
      if (/authentication methods failed|All configured authentication/i.test(message)) {
        throw ApplicationFailure.nonRetryable(
          `${target.name}: ${target.username}@${target.address} refused our key` +
            (target.agentSocket ? ` and the agent's (${target.agentSocket})` : ''),
          FailureType.SshAuthFailed,
        );
      }
      throw ApplicationFailure.retryable(
        `${target.name}: cannot connect to ${target.address}:${target.port}: ${message}`,
        FailureType.SshUnreachable,
      );
    }
    // Commands are small request/response exchanges: without TCP_NODELAY, Nagle's algorithm
    // holds each small write until the peer's delayed ACK (~40 ms), per command.
    ssh.connection?.setNoDelay(true);
    // The target's session ends with the channel it runs over (the jump host gone).
    sock?.once('close', () => ssh.connection?.end());
    return ssh;
  }

  private async through(target: SshTarget, jump: SshHop): Promise<Channel> {
    const via = jumpTarget(target, jump);
    const client = (await this.get(via)).connection;
    const refused = (why: string) =>
      ApplicationFailure.retryable(
        `${target.name}: cannot reach ${target.address}:${target.port} through jump host ${jump.address}: ${why}`,
        FailureType.SshUnreachable,
      );
    if (!client) throw refused('not connected');
    return new Promise<Channel>((resolve, reject) =>
      client.forwardOut('127.0.0.1', 0, target.address, target.port, (err, channel) =>
        err ? reject(refused(err.message)) : resolve(channel),
      ),
    );
  }
}

/** The worker's pool: one per process. */
export const pool = new SshPool();
