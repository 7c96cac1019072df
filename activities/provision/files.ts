// Files provision manages: written only when their content, mode or owner differ, the
// previous version kept in the run's record on the host the first time this run changes it,
// and put back (or the file removed, if there was none) by the step's undo.
import type { RunOptions } from '../ssh/run';
import { outcome, recordDir, script, type ProvisionRef, type StepOutcome } from './remote';

export interface ManagedFile {
  path: string;
  content: string;
  mode: string;
  owner: string;
  group: string;
  /** Checks the installed file (e.g. `sshd -t`); on failure the previous file is put back. */
  check?: string[];
}

// $1 path, $2 mode, $3 owner, $4 group, $5 record dir, $6... check argv; content on stdin.
const ENSURE_FILE = `
path=$1 mode=$2 owner=$3 group=$4 record=$5; shift 5
key=$(printf %s "$path" | sha256sum | cut -c1-24)
dir=$(dirname -- "$path")
if [ -d "$path" ] && [ ! -L "$path" ]; then echo "$path is a directory" >&2; exit 3; fi
mkdir -p -- "$dir"
tmp=$(mktemp -- "$dir/.runbook.XXXXXX")
trap 'rm -f -- "$tmp"' EXIT
cat > "$tmp"
if [ -f "$path" ] && [ ! -L "$path" ] && cmp -s -- "$tmp" "$path" && [ "$(stat -c %a:%U:%G -- "$path")" = "$mode:$owner:$group" ]; then
  echo unchanged; exit 0
fi
mkdir -p -m 0700 -- "$record"
if [ ! -e "$record/$key.path" ]; then
  if [ -e "$path" ] || [ -L "$path" ]; then cp -a -- "$path" "$record/$key.orig"; fi
  printf %s "$path" > "$record/$key.path"
fi
chmod "$mode" -- "$tmp"; chown "$owner:$group" -- "$tmp"
mv -f -- "$tmp" "$path"
if [ $# -gt 0 ] && ! "$@" >&2; then
  if [ -e "$record/$key.orig" ] || [ -L "$record/$key.orig" ]; then cp -a -- "$record/$key.orig" "$path"; else rm -f -- "$path"; fi
  rm -f -- "$record/$key.orig" "$record/$key.path"
  echo "check failed: $*; the previous $path is back" >&2; exit 3
fi
echo changed`;

// $1 path, $2 record dir.
const RESTORE_FILE = `
path=$1 record=$2
key=$(printf %s "$path" | sha256sum | cut -c1-24)
if [ ! -e "$record/$key.path" ]; then echo unchanged; exit 0; fi
if [ -e "$record/$key.orig" ] || [ -L "$record/$key.orig" ]; then cp -a -- "$record/$key.orig" "$path"; else rm -f -- "$path"; fi
rm -f -- "$record/$key.orig" "$record/$key.path"
echo changed`;

// $1 path, $2 record dir. Once the run is kept, its copy of the previous file is not needed
// for an undo any more, and it may hold secrets (the previous .env).
const FORGET_FILE = `
path=$1 record=$2
key=$(printf %s "$path" | sha256sum | cut -c1-24)
if [ ! -e "$record/$key.orig" ] && [ ! -L "$record/$key.orig" ]; then echo unchanged; exit 0; fi
rm -f -- "$record/$key.orig"
echo changed`;

export async function ensureFile(ref: ProvisionRef, file: ManagedFile, options: RunOptions = {}): Promise<StepOutcome> {
  const result = await script(
    ref,
    ENSURE_FILE,
    [file.path, file.mode, file.owner, file.group, recordDir(ref.runId), ...(file.check ?? [])],
    {
      ...options,
      stdin: file.content,
      // A failed check is the file's fault, not the network's: retrying cannot help.
      retryable: false,
    },
  );
  const done = outcome(result);
  return done.changed ? { changed: true, detail: `wrote ${file.path}` } : done;
}

export async function restoreFile(ref: ProvisionRef, path: string): Promise<StepOutcome> {
  return outcome(await script(ref, RESTORE_FILE, [path, recordDir(ref.runId)]), `put back ${path}`);
}

/** Removes this run's copy of the previous `path` (kept for its undo). */
export async function forgetPreviousFile(ref: ProvisionRef, path: string): Promise<StepOutcome> {
  return outcome(
    await script(ref, FORGET_FILE, [path, recordDir(ref.runId)]),
    `removed the copy of the previous ${path}`,
  );
}
