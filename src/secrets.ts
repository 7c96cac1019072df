// Secrets are named in the inventory by reference (a file, an environment variable or a
// command) and resolved only here, on the worker, at the moment an activity needs them: their
// values never travel through workflow inputs, results or history.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { expandPath, type Environment } from './inventory';

export class SecretError extends Error {}

export function resolveSecret(env: Environment, name: string): string {
  const ref = env.secrets[name];
  if (!ref) throw new SecretError(`${env.environment}: no secret ${JSON.stringify(name)} in the inventory`);
  let value: string;
  if ('file' in ref) {
    const file = expandPath(ref.file);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch {
      throw new SecretError(`${env.environment}: secret ${name}: file ${file} does not exist`);
    }
    // A secret others can read is already leaked; refusing it makes that visible.
    if (stat.mode & 0o077) throw new SecretError(`${env.environment}: secret ${name}: ${file} is readable by others (mode ${(stat.mode & 0o777).toString(8)}); chmod 600 it`);
    value = fs.readFileSync(file, 'utf8');
  } else if ('env' in ref) {
    const v = process.env[ref.env];
    if (v === undefined) throw new SecretError(`${env.environment}: secret ${name}: environment variable ${ref.env} is not set on the worker`);
    value = v;
  } else {
    const [cmd, ...args] = ref.command;
    try {
      value = execFileSync(expandPath(cmd!), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000 });
    } catch (err) {
      throw new SecretError(`${env.environment}: secret ${name}: command ${cmd} failed (${(err as { status?: number }).status ?? 'no exit code'})`);
    }
  }
  value = value.replace(/\r?\n$/, '');
  if (!value) throw new SecretError(`${env.environment}: secret ${name} is empty`);
  return value;
}
