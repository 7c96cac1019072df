// Running one command on one host: quoted argv, a timeout, heartbeats carrying the output's
// tail, the command's whole process group killed on the host when the activity is cancelled
// or times out, and errors that say host, command, exit code and stderr, never a secret.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ClientChannel } from 'ssh2';
import { execOpenSsh, type Exec, type ExecHandlers } from './openssh';
import { pool } from './pool';
import { recordCommand } from './record';
import { PGID_MARKER, shellCommand, wrappedCommand } from './quote';
import { redact, tail } from './redact';
import type { SshTarget } from './target';
import { FailureType } from '../../common/failure-types';

export interface RunOptions {
  cwd?: string;
  /** Fed to the command's stdin: how secrets reach a command without appearing in argv. */
  stdin?: string;
  timeoutMs?: number;
  /** Values to redact from anything that leaves this function. */
  secrets?: readonly string[];
  /** Exit codes that mean success (default: 0). */
  okExitCodes?: readonly number[];
  /** Whether a non-zero exit is worth retrying (default: yes; commands that cannot succeed on a retry say no). */
  retryable?: boolean;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const HEARTBEAT_MS = 1_000;
/** The most stdout a command may print: results go into history, whose payloads are far smaller. */
const MAX_STDOUT = 8 * 1024 * 1024;
const MAX_STDERR = 64 * 1024;
/** What a heartbeat redacts: more than its tail, so a secret straddling the cut is whole here. */
const RECENT = 8192;

function recent(text: string): string {
  return text.length > RECENT ? text.slice(-RECENT) : text;
}

function keepTail(text: string): string {
  if (text.length <= MAX_STDERR) return text;
  const first = text.indexOf('\n') + 1;
  return text.slice(0, first) + text.slice(-(MAX_STDERR - first));
}
/** Exit codes no retry can fix: our cd failed (125), not executable (126), not found (127). */
const PERMANENT_EXIT_CODES = new Set([125, 126, 127]);

/** Starts `command` on the target through its transport (docs/ssh.md). */
export async function startCommand(target: SshTarget, command: string, handlers: ExecHandlers = {}): Promise<Exec> {
  const recorded = recordCommand(target, command, handlers.stdin);
  const exec = await startExec(target, command, handlers);
  exec.result.then(
    (r) => recorded(r.code),
    () => recorded(null),
  );
  return exec;
}

async function startExec(target: SshTarget, command: string, handlers: ExecHandlers): Promise<Exec> {
  if (target.transport === 'openssh') return execOpenSsh(target, command, handlers);
  const ssh = await pool.get(target);
  let channel: ClientChannel | undefined;
  const result = ssh.execCommand(command, {
    stdin: handlers.stdin,
    noTrim: true,
    onChannel: (c) => (channel = c),
    onStdout: handlers.onStdout,
    onStderr: handlers.onStderr,
  });
  return {
    result: result.then(({ code, signal }) => ({ code, ...(signal ? { signal } : {}) })),
    close: () => channel?.close(),
  };
}

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

export async function runOn(
  target: SshTarget,
  argv: readonly string[],
  options: RunOptions = {},
): Promise<CommandResult> {
  const secrets = options.secrets ?? [];
  const shown = redact(shellCommand(argv), secrets);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const ctx = activityContext();
  // Connecting is not the command's time: the host's connection is opened (or found) first.
  if (target.transport !== 'openssh') await pool.get(target);

  let stdout = '';
  let rawStderr = '';
  let tooLarge = false;
  let pgid: number | undefined;
  let running: Exec | undefined;
  const stderr = () => rawStderr.replace(new RegExp(`^${PGID_MARKER}\\d+\\n`), '');

  const killRemote = async () => {
    if (pgid) {
      await startCommand(target, shellCommand(['kill', '-KILL', '--', `-${pgid}`]))
        .then((k) => k.result)
        .catch(() => undefined);
    }
    running?.close();
  };

  let stop: (reason: Error) => void = () => undefined;
  const stopped = new Promise<never>((_, reject) => (stop = reject));
  // Raced once the command has started: a stop before that is not an unhandled rejection.
  stopped.catch(() => undefined);
  const timer = setTimeout(
    () =>
      stop(
        ApplicationFailure.retryable(
          `${target.name}: ${shown} timed out after ${Math.round(timeoutMs / 1000)}s`,
          FailureType.CommandTimedOut,
        ),
      ),
    timeoutMs,
  );
  const heartbeat = ctx
    ? setInterval(
        () =>
          ctx.heartbeat({ host: target.name, outputTail: tail(redact(recent(stdout + stderr()), secrets), 5, 500) }),
        HEARTBEAT_MS,
      )
    : undefined;
  const onCancel = () =>
    stop(ctx!.cancellationSignal.reason instanceof Error ? ctx!.cancellationSignal.reason : new Error('cancelled'));
  ctx?.cancellationSignal.addEventListener('abort', onCancel);

  try {
    running = await startCommand(target, wrappedCommand(argv, options.cwd), {
      stdin: options.stdin,
      onStdout: (chunk) => {
        stdout += chunk.toString('utf8');
        // A command that prints more than anything of ours reads is stopped, not buffered on.
        if (stdout.length > MAX_STDOUT && !tooLarge) {
          tooLarge = true;
          stop(
            ApplicationFailure.nonRetryable(
              `${target.name}: ${shown} printed more than ${MAX_STDOUT} characters`,
              FailureType.OutputTooLarge,
            ),
          );
        }
      },
      onStderr: (chunk) => {
        // Only the tail of stderr is kept (after the first line, which carries the process group).
        rawStderr = keepTail(rawStderr + chunk.toString('utf8'));
        if (pgid === undefined) {
          const m = new RegExp(`^${PGID_MARKER}(\\d+)\\n`).exec(rawStderr);
          if (m) pgid = Number(m[1]);
        }
      },
    });
    // A connection that dies under the command (ssh2's "Keepalive timeout", "Not connected") is a
    // lost connection, retried on a new one; failures of ours pass as they are.
    const exec = running.result.catch((err: unknown) => {
      if (err instanceof ApplicationFailure) throw err;
      pool.forget(target);
      throw ApplicationFailure.retryable(
        `${target.name}: connection lost while running ${shown}: ${(err as Error).message}`,
        FailureType.SshConnectionLost,
      );
    });
    // After a timeout or cancel the command's own promise may still reject; it is not awaited then.
    exec.catch(() => undefined);
    let result;
    try {
      result = await Promise.race([exec, stopped]);
    } catch (err) {
      await killRemote();
      throw err;
    }
    if (result.code === null) {
      // The channel closed without an exit status: the connection (or sshd) went away.
      pool.forget(target);
      throw ApplicationFailure.retryable(
        `${target.name}: connection lost while running ${shown}${result.signal ? ` (signal ${result.signal})` : ''}`,
        FailureType.SshConnectionLost,
      );
    }
    const out: CommandResult = {
      stdout: redact(stdout, secrets),
      stderr: redact(stderr(), secrets),
      exitCode: result.code,
    };
    if (!(options.okExitCodes ?? [0]).includes(result.code)) {
      const output = tail(out.stderr || out.stdout, 10, 1000).trim() || '(no output)';
      const message = `${target.name}: ${shown} exited with ${result.code}: ${output}`;
      const permanent = PERMANENT_EXIT_CODES.has(result.code) || options.retryable === false;
      throw ApplicationFailure.create({
        message,
        type: FailureType.CommandFailed,
        nonRetryable: permanent,
        details: [{ host: target.name, command: shown, exitCode: result.code, stderrTail: tail(out.stderr) }],
      });
    }
    return out;
  } finally {
    clearTimeout(timer);
    if (heartbeat) clearInterval(heartbeat);
    ctx?.cancellationSignal.removeEventListener('abort', onCancel);
  }
}
