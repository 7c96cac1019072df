// Where and as whom to connect: resolved on the worker from the inventory, so workflow
// inputs carry only an environment and a host name.
import * as fs from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { expandPath, loadEnvironment } from '../../src/inventory';
import { FailureType } from '../../common/failure-types';

export interface SshTarget {
  /** "env/host", for messages and pool keys. */
  name: string;
  address: string;
  port: number;
  username: string;
  privateKeyPath: string;
  knownHostsPath: string;
}

export interface HostRef {
  env: string;
  host: string;
  /** Log in as this user instead of the inventory's (provision switches to its ops user). */
  login?: string;
}

export function resolveTarget({ env, host, login }: HostRef): SshTarget {
  let environment;
  try {
    environment = loadEnvironment(env);
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, FailureType.BadInventory);
  }
  const h = environment.hosts[host];
  if (!h) {
    throw ApplicationFailure.nonRetryable(
      `no host ${JSON.stringify(host)} in environment ${env} (hosts: ${Object.keys(environment.hosts).join(', ')})`,
      FailureType.BadInventory,
    );
  }
  const target: SshTarget = {
    name: login ? `${env}/${login}@${host}` : `${env}/${host}`,
    address: h.address,
    port: h.port ?? environment.ssh.port ?? 22,
    username: login ?? h.user ?? environment.ssh.user,
    privateKeyPath: expandPath(environment.ssh.privateKey),
    knownHostsPath: expandPath(environment.ssh.knownHosts),
  };
  for (const [what, file] of [
    ['private key', target.privateKeyPath],
    ['known_hosts', target.knownHostsPath],
  ]) {
    if (!fs.existsSync(file))
      throw ApplicationFailure.nonRetryable(
        `${target.name}: ${what} file ${file} does not exist`,
        FailureType.BadInventory,
      );
  }
  return target;
}
