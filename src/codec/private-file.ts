// Files holding secrets or keys must be readable by the process that uses them and nobody else.
import type * as fs from 'node:fs';

/** Why a file is not private to this process's user, or undefined when it is. */
export function ownerOnlyProblem(stat: fs.Stats, uid = process.getuid?.()): string | undefined {
  if (!stat.isFile()) return 'is not a regular file';
  if (uid !== undefined && stat.uid !== uid)
    return `belongs to uid ${stat.uid}, not to this user (uid ${uid}); chown it`;
  const mode = stat.mode & 0o777;
  if (mode & 0o077)
    return `is readable or writable by group/others (mode ${mode.toString(8).padStart(4, '0')}); chmod 600 it`;
  return undefined;
}
