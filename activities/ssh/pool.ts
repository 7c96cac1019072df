// One SSH connection per host, shared by every command on that host and kept open between
// steps; a dropped connection is forgotten and the next command opens a new one.
import * as fs from 'node:fs';
import { NodeSSH } from 'node-ssh';
import { ApplicationFailure } from '@temporalio/common';
import { blobKeyType, decideHostKey, hostEntries, type HostKeyDecision } from './known-hosts';
import type { SshTarget } from './target';
import { FailureType } from '../../common/failure-types';

const KEY_TYPES: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
};

export class SshPool {
  private readonly connections = new Map<string, Promise<NodeSSH>>();

  async get(target: SshTarget): Promise<NodeSSH> {
    const key = `${target.username}@${target.address}:${target.port}`;
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
    const key = `${target.username}@${target.address}:${target.port}`;
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
    const ssh = new NodeSSH();
    try {
      await ssh.connect({
        host: target.address,
        port: target.port,
        username: target.username,
        privateKey: fs.readFileSync(target.privateKeyPath, 'utf8'),
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
      const message = (err as Error).message;
      if (decision === 'revoked') {
        throw ApplicationFailure.nonRetryable(
          `${target.name}: ${target.address} presented a host key revoked in ${target.knownHostsPath}: refusing to connect`,
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
          `${target.name}: ${target.username}@${target.address} refused our key`,
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
    return ssh;
  }
}

/** The worker's pool: one per process. */
export const pool = new SshPool();
