// The backup store: a directory on a host other than the database's (inventory var
// `backupStore: { host, dir }`). Each backup NAME is three files there:
//   NAME.dump    pg_dump custom format
//   NAME.json    its manifest: size, sha256, and the row count of every table when dumped
//   NAME.sha256  "HEX  NAME.dump" (sha256sum -c format), written last: a backup without it
//                is incomplete and is never listed, restored or kept by retention.
// Files are written as .NAME.*.partial, flushed, then renamed: a reader never sees half a file.
import { ApplicationFailure } from '@temporalio/common';
import { parseBackupName } from '../common/backup-names';
import { environment } from './env-vars';
import { requiredVar } from '../src/vars';
import type { RowCounts } from './postgres';
import { runOn } from './ssh/run';
import { resolveTarget, type SshTarget } from './ssh/target';
import { FailureType } from '../common/failure-types';

export interface Manifest {
  name: string;
  env: string;
  database: string;
  createdAt: string;
  bytes: number;
  sha256: string;
  rowCounts: RowCounts;
}

export interface Store {
  host: string;
  dir: string;
  target: SshTarget;
}

/** The store; its host and directory were checked when the inventory was read (src/vars.ts). */
export function backupStore(env: string): Store {
  const { host, dir } = requiredVar(environment(env), 'backupStore');
  return { host, dir: dir.replace(/\/+$/, ''), target: resolveTarget({ env, host }) };
}

/** Refuses anything that is not one of this environment's backup names. */
export function checkBackupName(env: string, name: string): string {
  const parsed = parseBackupName(name);
  if (!parsed || parsed.env !== env) {
    throw ApplicationFailure.nonRetryable(
      `${JSON.stringify(name)} is not a backup name of ${env} (expected ${env}-YYYYMMDDTHHMMSSZ)`,
      FailureType.BadInput,
    );
  }
  return name;
}

export function backupFiles(store: Store, name: string) {
  const at = (suffix: string) => `${store.dir}/${name}.${suffix}`;
  return {
    dump: at('dump'),
    manifest: at('json'),
    checksum: at('sha256'),
    partialDump: `${store.dir}/.${name}.dump.partial`,
  };
}

/** Every file name in the store directory (none when it does not exist yet). */
export async function storeFiles(store: Store): Promise<string[]> {
  const out = await runOn(store.target, [
    'sh',
    '-c',
    '[ ! -d "$1" ] || find "$1" -mindepth 1 -maxdepth 1 -type f -printf "%f\\n"',
    'list',
    store.dir,
  ]);
  return out.stdout.split('\n').filter(Boolean);
}

/** The complete backups of `env` in the store (those with their checksum file), oldest first. */
export async function completeBackups(store: Store, env: string): Promise<string[]> {
  return (await storeFiles(store))
    .filter((f) => f.endsWith('.sha256'))
    .map((f) => f.slice(0, -'.sha256'.length))
    .filter((n) => parseBackupName(n)?.env === env)
    .sort((a, b) => parseBackupName(a)!.at.getTime() - parseBackupName(b)!.at.getTime() || (a < b ? -1 : 1));
}

export async function readManifest(store: Store, name: string): Promise<Manifest> {
  const files = backupFiles(store, name);
  const out = await runOn(
    store.target,
    [
      'sh',
      '-c',
      'if [ -e "$1" ] && [ -e "$2" ]; then cat -- "$2"; else exit 3; fi',
      'manifest',
      files.checksum,
      files.manifest,
    ],
    { okExitCodes: [0, 3] },
  );
  if (out.exitCode === 3)
    throw ApplicationFailure.nonRetryable(
      `no complete backup named ${name} in ${store.host}:${store.dir}`,
      FailureType.NoSuchBackup,
    );
  try {
    return JSON.parse(out.stdout) as Manifest;
  } catch {
    throw ApplicationFailure.nonRetryable(
      `${store.host}:${files.manifest} is not a valid manifest`,
      FailureType.CorruptBackup,
    );
  }
}

// After the dump is streamed to .NAME.dump.partial: flush it, rename it, then the manifest,
// then the checksum file, each written beside and renamed, and flush the directory.
const FINISH = `set -e; umask 077
d=$1; n=$2; sum=$3
sync -- "$d/.$n.dump.partial"
mv -f -- "$d/.$n.dump.partial" "$d/$n.dump"
cat > "$d/.$n.json.partial"; sync -- "$d/.$n.json.partial"; mv -f -- "$d/.$n.json.partial" "$d/$n.json"
printf '%s  %s\\n' "$sum" "$n.dump" > "$d/.$n.sha256.partial"
sync -- "$d/.$n.sha256.partial"
mv -f -- "$d/.$n.sha256.partial" "$d/$n.sha256"
sync -- "$d"`;

export async function finishBackup(store: Store, manifest: Manifest): Promise<void> {
  await runOn(store.target, ['sh', '-c', FINISH, 'finish', store.dir, manifest.name, manifest.sha256], {
    stdin: `${JSON.stringify(manifest, null, 2)}\n`,
  });
}

/** sha256 of a stored file, computed on the store host. */
export async function storedSha256(store: Store, file: string): Promise<string> {
  const out = await runOn(store.target, ['sha256sum', '--', file], { timeoutMs: 3_600_000 });
  return out.stdout.split(/\s/)[0];
}

/**
 * Checks a stored backup before anything uses it: the dump's sha256, computed on the store,
 * must equal both its checksum file and its manifest. A mismatch is refused for good.
 */
export async function verifyStoredChecksum(store: Store, name: string): Promise<Manifest> {
  const manifest = await readManifest(store, name);
  const files = backupFiles(store, name);
  const recorded = (await runOn(store.target, ['cat', '--', files.checksum])).stdout.split(/\s/)[0];
  const actual = await storedSha256(store, files.dump);
  if (actual !== recorded || actual !== manifest.sha256) {
    throw ApplicationFailure.nonRetryable(
      `backup ${name} is corrupted: its dump on ${store.host} has sha256 ${actual}, recorded ${recorded}; ` +
        `refusing to use it`,
      FailureType.CorruptBackup,
    );
  }
  return manifest;
}

/** Deletes a backup's files (complete or partial); nothing when they do not exist. */
export async function deleteBackupFiles(store: Store, name: string): Promise<void> {
  const f = backupFiles(store, name);
  const partials = ['dump', 'json', 'sha256'].map((s) => `${store.dir}/.${name}.${s}.partial`);
  // The checksum file first: from then on the backup no longer counts as complete.
  await runOn(store.target, ['rm', '-f', '--', f.checksum, f.manifest, f.dump, ...partials]);
}
