// What a provisioned host looks like, from the environment's `vars.provision` (see
// inventory/local.yaml), checked before any step acts on it.
import * as fs from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { expandPath, type Environment } from '../../src/inventory';
import { environment } from '../env-vars';
import { requiredVar } from '../../src/vars';
import { FailureType } from '../../common/failure-types';

export interface ProvisionConfig {
  opsUser: string;
  opsPublicKey: string;
  packages: string[];
  /** Ports the firewall lets in. */
  openPorts: number[];
  /** Ports that must answer from outside once provisioned. */
  checkPorts: number[];
  /** Addresses fail2ban never bans, besides the worker's own (e.g. a bastion). */
  trustedAddresses: string[];
  /** Services that must be running once provisioned (Debian `service` names). */
  services: string[];
  databaseHost: string;
  databaseName: string;
  databaseUser: string;
  databasePasswordSecret: string;
  appDir: string;
  appUser: string;
  appPort: number;
  domains: string[];
  acmeWebroot: string;
}

function bad(env: Environment, what: string): never {
  throw ApplicationFailure.nonRetryable(`${env.environment}: vars.provision.${what}`, FailureType.BadInventory);
}

const SQL_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The schema (src/vars.ts) typed and defaulted it; what it cannot say is checked here. */
export function provisionConfig(envName: string): ProvisionConfig {
  const env = environment(envName);
  const p = env.vars.provision;
  if (!p) bad(env, 'is not set: nothing says what a provisioned host looks like');
  const opsPublicKey = expandPath(p.opsPublicKey);
  if (!fs.existsSync(opsPublicKey)) bad(env, `opsPublicKey: ${opsPublicKey} does not exist`);
  const key = fs.readFileSync(opsPublicKey, 'utf8').trim();
  if (!/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+( [^\n]*)?$/.test(key))
    bad(env, `opsPublicKey: ${opsPublicKey} is not one OpenSSH public key`);
  if (!p.openPorts.includes(22)) bad(env, 'openPorts must include 22, or the firewall would lock everyone out');
  const names = {
    databaseName: requiredVar(env, 'databaseName'),
    databaseUser: requiredVar(env, 'databaseUser'),
    appUser: requiredVar(env, 'appUser'),
  };
  // The app user is also a PostgreSQL name here: no dash.
  if (!SQL_NAME.test(names.appUser))
    bad(env, `appUser ${JSON.stringify(names.appUser)} is not a plain lower-case name`);
  if (!env.secrets[p.databasePasswordSecret]) bad(env, `databasePasswordSecret: no secret ${p.databasePasswordSecret}`);
  return {
    opsUser: p.opsUser,
    opsPublicKey: key,
    packages: p.packages,
    openPorts: p.openPorts,
    checkPorts: p.checkPorts,
    trustedAddresses: p.trustedAddresses,
    services: p.services,
    databaseHost: p.databaseHost,
    ...names,
    databasePasswordSecret: p.databasePasswordSecret,
    appDir: requiredVar(env, 'appDir'),
    appPort: env.vars.appPort,
    domains: env.vars.domains,
    acmeWebroot: env.vars.acmeWebroot,
  };
}
