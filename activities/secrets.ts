// Secrets are resolved here, on the worker, from the reference the inventory holds: a file only
// the worker can read, an environment variable of the worker, or a command's output. A resolved
// value is only ever handed to the ssh layer (stdin, and its list of values to redact): it is
// never returned from an activity, put in a heartbeat or an error, so it never reaches history.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { expandPath, InventoryError, type Environment, type SecretRef } from '../src/inventory';
import { ownerOnlyProblem } from '../src/codec/private-file';
import { tail } from './ssh/redact';
import { FailureType } from '../common/failure-types';

const COMMAND_TIMEOUT_MS = 30_000;

/** The application database's password (the app reads it from its .env on the host). */
export const DATABASE_PASSWORD = 'dbPassword';

// Not exported by activities/index.ts: nothing here is an activity, and nothing here may become
// one (an activity's result is written to history).

export async function resolveSecret(env: Environment, name: string): Promise<string> {
  const ref = env.secrets[name];
  const where = `${env.environment}: secret ${name}`;
  if (!ref)
    throw ApplicationFailure.nonRetryable(
      `${where} is not defined (secrets.${name} in the inventory)`,
      FailureType.BadInventory,
    );
  const value = await read(ref, where);
  if (!value) throw ApplicationFailure.nonRetryable(`${where} is empty`, FailureType.BadSecret);
  remember(value);
  return value;
}

// Every value resolved on this worker, so its log can redact them wherever they would show
// (worker/logging.ts). Bounded: a secret rotated daily for years must not grow the worker.
const resolved = new Set<string>();
const MAX_REMEMBERED = 1000;

function remember(value: string): void {
  if (resolved.has(value)) return;
  if (resolved.size >= MAX_REMEMBERED) resolved.delete(resolved.values().next().value!);
  resolved.add(value);
}

/** The secret values this worker has resolved: what its log lines are redacted of. */
export function resolvedSecrets(): readonly string[] {
  return [...resolved];
}

/** The values of those of `names` the environment defines: what a command's output is redacted of. */
export async function secretValues(env: Environment, names: readonly string[]): Promise<string[]> {
  return Promise.all(names.filter((n) => n in env.secrets).map((n) => resolveSecret(env, n)));
}

async function read(ref: SecretRef, where: string): Promise<string> {
  if ('file' in ref) return readFile(ref.file, where);
  if ('env' in ref) {
    const value = process.env[ref.env];
    if (value === undefined)
      throw ApplicationFailure.nonRetryable(
        `${where}: the worker's environment has no ${ref.env}`,
        FailureType.BadSecret,
      );
    return value;
  }
  return runCommand(ref.command, where);
}

function readFile(file: string, where: string): string {
  let p: string;
  try {
    p = expandPath(file);
  } catch (err) {
    if (err instanceof InventoryError)
      throw ApplicationFailure.nonRetryable(`${where}: ${err.message}`, FailureType.BadInventory);
    throw err;
  }
  let stat: fs.Stats;
  try {
    stat = fs.statSync(p);
  } catch {
    throw ApplicationFailure.nonRetryable(`${where}: ${p} does not exist on the worker`, FailureType.BadSecret);
  }
  // A secret others can read is already leaked: refuse it rather than use it.
  const problem = ownerOnlyProblem(stat);
  if (problem) throw ApplicationFailure.nonRetryable(`${where}: ${p} ${problem}`, FailureType.BadSecret);
  return stripNewline(fs.readFileSync(p, 'utf8'));
}

function runCommand(argv: string[], where: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // No shell: the inventory's argv runs as it is.
    execFile(
      argv[0],
      argv.slice(1),
      { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (!err) return resolve(stripNewline(stdout));
        if ((err as NodeJS.ErrnoException).code === 'ENOENT')
          return reject(
            ApplicationFailure.nonRetryable(
              `${where}: command ${argv[0]} was not found on the worker`,
              FailureType.BadSecret,
            ),
          );
        const status = err.killed ? `timed out after ${COMMAND_TIMEOUT_MS / 1000}s` : `exited with ${String(err.code)}`;
        // Its stderr says why (stdout, which would hold the secret, is never shown). Retryable:
        // a secret store may be briefly unreachable.
        const why = tail(stderr, 3, 300).trim();
        reject(
          ApplicationFailure.retryable(
            `${where}: command ${argv[0]} ${status}${why ? `: ${why}` : ''}`,
            FailureType.BadSecret,
          ),
        );
      },
    );
  });
}

function stripNewline(text: string): string {
  return text.replace(/\r?\n$/, '');
}

/**
 * The migrations connect with the database password from the app's .env, and a failing one
 * may print its connection string: their output and errors are redacted of it.
 */
export function migrationSecrets(env: Environment): Promise<string[]> {
  return secretValues(env, [DATABASE_PASSWORD]);
}
