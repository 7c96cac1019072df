// What a provisioned host looks like, from the environment's `vars.provision` (see
// inventory/local.yaml), checked before any step acts on it.
import * as fs from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { expandPath, type Environment } from '../../src/inventory';
import { environment, stringVar } from '../env-vars';
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

const USER = /^[a-z_][a-z0-9_-]{0,30}$/;
const PACKAGE = /^[a-z0-9][a-z0-9+.-]{1,100}$/;
const SQL_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function bad(env: Environment, what: string): never {
  throw ApplicationFailure.nonRetryable(`${env.environment}: vars.provision.${what}`, FailureType.BadInventory);
}

function list<T>(env: Environment, value: unknown, name: string, ok: (v: unknown) => v is T): T[] {
  if (!Array.isArray(value) || !value.every(ok)) bad(env, `${name} must be a list`);
  return value as T[];
}

const isPort = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0 && (v as number) < 65536;

export function provisionConfig(envName: string): ProvisionConfig {
  const env = environment(envName);
  const p = env.vars.provision as Record<string, unknown> | undefined;
  if (!p || typeof p !== 'object') bad(env, 'is not set: nothing says what a provisioned host looks like');
  const opsUser = String(p.opsUser ?? '');
  if (!USER.test(opsUser) || opsUser === 'root')
    bad(env, `opsUser ${JSON.stringify(opsUser)} is not a valid non-root user name`);
  const opsPublicKey = expandPath(String(p.opsPublicKey ?? ''));
  if (!fs.existsSync(opsPublicKey)) bad(env, `opsPublicKey: ${opsPublicKey} does not exist`);
  const key = fs.readFileSync(opsPublicKey, 'utf8').trim();
  if (!/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+( [^\n]*)?$/.test(key))
    bad(env, `opsPublicKey: ${opsPublicKey} is not one OpenSSH public key`);
  const packages = list(env, p.packages, 'packages', (v): v is string => typeof v === 'string' && PACKAGE.test(v));
  const openPorts = list(env, p.openPorts ?? [22, 80, 443], 'openPorts', isPort);
  if (!openPorts.includes(22)) bad(env, 'openPorts must include 22, or the firewall would lock everyone out');
  const checkPorts = list(env, p.checkPorts ?? [22, 80], 'checkPorts', isPort);
  const trustedAddresses = list(
    env,
    p.trustedAddresses ?? [],
    'trustedAddresses',
    (v): v is string => typeof v === 'string' && /^[0-9a-fA-F.:/]{2,49}$/.test(v),
  );
  const services = list(
    env,
    p.services ?? ['ssh', 'nginx', 'postgresql', 'supervisor', 'fail2ban'],
    'services',
    (v): v is string => typeof v === 'string' && /^[a-z0-9][a-z0-9@._-]*$/.test(v),
  );
  const names = {
    databaseName: stringVar(env, 'databaseName'),
    databaseUser: stringVar(env, 'databaseUser'),
    appUser: stringVar(env, 'appUser'),
  };
  for (const [n, v] of Object.entries(names))
    if (!SQL_NAME.test(v)) bad(env, `${n} ${JSON.stringify(v)} is not a plain lower-case name`);
  const databasePasswordSecret = String(p.databasePasswordSecret ?? 'dbPassword');
  if (!env.secrets[databasePasswordSecret]) bad(env, `databasePasswordSecret: no secret ${databasePasswordSecret}`);
  const appDir = stringVar(env, 'appDir');
  if (!/^\/[A-Za-z0-9._/-]+$/.test(appDir) || appDir.includes('..'))
    bad(env, `appDir ${appDir} is not a plain absolute path`);
  return {
    opsUser,
    opsPublicKey: key,
    packages,
    openPorts,
    checkPorts,
    trustedAddresses,
    services,
    databaseHost: String(p.databaseHost ?? '127.0.0.1'),
    ...names,
    databasePasswordSecret,
    appDir,
    // Typed and defaulted where the inventory is read (src/inventory.ts, Vars).
    appPort: env.vars.appPort,
    domains: env.vars.domains,
    acmeWebroot: env.vars.acmeWebroot,
  };
}
