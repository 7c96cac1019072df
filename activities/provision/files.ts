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

// Root never writes through a name another user controls. The new file is made, given its
// mode and owner in this run's record directory (root's, 0700), then renamed over the target
// with `mv -T`: a rename replaces whatever has the target's name, file or symlink, and never
// writes through it (across filesystems mv unlinks the target and creates it anew with
// O_EXCL). Every put-back goes the same way. A target that is a symlink is refused (a planted
// link is a sign of trouble an operator must look at), and so is one whose directory sits
// below a directory anyone but root may change: only the file's own directory (the app's)
// may belong to another user.
export const SAFE_PATHS = `
refuse() { echo "$*" >&2; exit 3; }
# Every directory above $1 (not $1 itself), on its path as given and as resolved: root's,
# writable by root alone (a root-owned symlink is root's choice, its target checked resolved).
root_only_above() {
  up=$(dirname -- "$1")
  while :; do
    if [ -e "$up" ] || [ -L "$up" ]; then
      case $(stat -c %u:%A -- "$up") in
        0:l*|0:d????-??-?) ;;
        *) refuse "$up may be changed by another user than root: refusing to write $path below it" ;;
      esac
    fi
    [ "$up" = / ] && break
    up=$(dirname -- "$up")
  done
}
safe_dirs() {
  dir=$(dirname -- "$1")
  root_only_above "$dir"
  if [ -d "$dir" ]; then root_only_above "$(cd -P -- "$dir" && pwd)"; fi
}
# The record's copy of $path (a file, or a symlink as it was) renamed into place, or $path
# removed when there was none; then the record of it forgotten.
put_back_or_remove() {
  if [ -e "$record/$key.orig" ] || [ -L "$record/$key.orig" ]; then
    rm -f -- "$record/.put-back"; cp -a -- "$record/$key.orig" "$record/.put-back"
    mv -fT -- "$record/.put-back" "$path"
  else
    rm -f -- "$path"
  fi
  rm -f -- "$record/$key.orig" "$record/$key.path"
}`;

// $1 path, $2 mode, $3 owner, $4 group, $5 record dir, $6... check argv; content on stdin.
const ENSURE_FILE = `
path=$1 mode=$2 owner=$3 group=$4 record=$5; shift 5
${SAFE_PATHS}
key=$(printf %s "$path" | sha256sum | cut -c1-24)
safe_dirs "$path"
if [ -L "$path" ]; then
  refuse "$path is a symbolic link (to $(readlink -- "$path")); refusing to write through it: remove it and run again"
fi
if [ -d "$path" ]; then refuse "$path is a directory"; fi
mkdir -p -m 0700 -- "$record"
tmp=$(mktemp -- "$record/.new.XXXXXX")
trap 'rm -f -- "$tmp" "$record/.put-back"' EXIT
cat > "$tmp"
if [ -f "$path" ] && [ ! -L "$path" ] && cmp -s -- "$tmp" "$path" &&
  [ "$(stat -c %a:%U:%G -- "$path")" = "$mode:$owner:$group" ]; then
  # Written by this run already (its record says so): an attempt lost after the write may not
  # have applied it (a reload), so the retry hears "changed" and applies it again.
  if [ -e "$record/$key.path" ]; then echo changed; else echo unchanged; fi; exit 0
fi
if [ ! -e "$record/$key.path" ]; then
  if [ -e "$path" ] || [ -L "$path" ]; then cp -a -- "$path" "$record/$key.orig"; fi
  printf %s "$path" > "$record/$key.path"
fi
chmod "$mode" -- "$tmp"; chown --no-dereference "$owner:$group" -- "$tmp"
mkdir -p -- "$dir"
mv -fT -- "$tmp" "$path"
if [ $# -gt 0 ] && ! "$@" >&2; then
  put_back_or_remove
  echo "check failed: $*; the previous $path is back" >&2; exit 3
fi
echo changed`;

// $1 path, $2 record dir. Whatever has the name now (a symlink planted since, say) is
// replaced by the previous file, never written through.
const RESTORE_FILE = `
path=$1 record=$2
key=$(printf %s "$path" | sha256sum | cut -c1-24)
if [ ! -e "$record/$key.path" ]; then echo unchanged; exit 0; fi
${SAFE_PATHS}
safe_dirs "$path"
trap 'rm -f -- "$record/.put-back"' EXIT
if [ -d "$path" ] && [ ! -L "$path" ]; then refuse "$path is a directory"; fi
put_back_or_remove
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
