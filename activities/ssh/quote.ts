// SSH runs every command through the remote user's shell, so each argument is single-quoted:
// inside '...' a POSIX shell interprets nothing, and a ' is closed, escaped and reopened.
// Nothing from an inventory or a user is ever pasted into a shell string unquoted.

export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new Error('an argument cannot contain a NUL byte');
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function shellCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('empty command');
  return argv.map(shellQuote).join(' ');
}

/** The marker the wrapper writes first on stderr: the pid of the command's own process group. */
export const PGID_MARKER = '\u0001runbook-pgid:';

/**
 * Runs argv in a new session (its own process group) after reporting that group's id on
 * stderr, so a cancelled or timed-out command can be killed with everything it started.
 * `exec "$@"` hands argv to the program as it is: no word splitting, no globbing.
 */
export function wrappedCommand(argv: readonly string[], cwd?: string): string {
  const script = `printf '${PGID_MARKER}%s\\n' "$$" >&2; ${cwd ? 'cd "$1" || exit 125; shift; ' : ''}exec "$@"`;
  return shellCommand(['setsid', '-w', 'sh', '-c', script, 'runbook', ...(cwd ? [cwd] : []), ...argv]);
}
