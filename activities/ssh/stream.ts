// Commands whose input and output are streams rather than strings: a dump piped from one host
// into a file on another through the worker (hashed and counted as the bytes pass, never
// staged whole anywhere), and long sessions fed line by line (a psql holding a snapshot).
// Same rules as runOn: quoted argv, the command's process group killed on the host when we
// give up, errors naming host, command, exit code and stderr's tail.
import { createHash } from 'node:crypto';
import { Duplex } from 'node:stream';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ClientChannel } from 'ssh2';
import { spawnOpenSsh } from './openssh';
import { pool } from './pool';
import { recordCommand } from './record';
import { startCommand } from './run';
import { PGID_MARKER, shellCommand, wrappedCommand } from './quote';
import { tail } from './redact';
import type { SshTarget } from './target';
import { FailureType } from '../../common/failure-types';

export interface RemoteCommand {
  target: SshTarget;
  argv: readonly string[];
  cwd?: string;
}

/** A command running on a host: write its stdin and read its stdout through `channel`. */
export interface RemoteProcess {
  channel: Duplex;
  /** Resolves with the exit code once the channel closes; null when the connection went away. */
  exited: Promise<number | null>;
  stderr(): string;
  /** Throws a CommandFailed (or SshConnectionLost) unless the command exited with 0. */
  check(code: number | null): void;
  kill(): Promise<void>;
}

const PGID_LINE = new RegExp(`^${PGID_MARKER}(\\d+)\\n`);

/** The command started, before the common part of a RemoteProcess is built around it. */
interface Started {
  channel: Duplex;
  /** Exit code, or null when the connection went away; never rejects. */
  exited: Promise<number | null>;
  /** ssh's own failure (host key, login), when it gave up before the command ran. */
  failure(): Error | undefined;
  close(): void;
}

async function start(
  target: SshTarget,
  command: string,
  shown: string,
  onStderr: (c: Buffer) => void,
): Promise<Started> {
  recordCommand(target, command)();
  if (target.transport === 'openssh') {
    const p = spawnOpenSsh(target, command, { onStderr });
    let failure: Error | undefined;
    const exited = p.result.then(
      (r) => r.code,
      (err: Error) => {
        failure = err;
        return null;
      },
    );
    const channel = Duplex.from({ readable: p.child.stdout, writable: p.child.stdin });
    // ssh going away early closes both pipes ("premature close"): the exit code says what happened.
    channel.on('error', () => undefined);
    return {
      channel,
      exited,
      failure: () => failure,
      close: p.close,
    };
  }
  const client = (await pool.get(target)).connection;
  if (!client) throw ApplicationFailure.retryable(`${target.name}: not connected`, FailureType.SshConnectionLost);
  const channel = await new Promise<ClientChannel>((resolve, reject) =>
    client.exec(command, (err, ch) =>
      err
        ? reject(
            ApplicationFailure.retryable(
              `${target.name}: cannot start ${shown}: ${err.message}`,
              FailureType.SshConnectionLost,
            ),
          )
        : resolve(ch),
    ),
  );
  channel.stderr.on('data', onStderr);
  let code: number | null = null;
  channel.once('exit', (c: number | null) => (code = c));
  return {
    channel,
    exited: new Promise<number | null>((resolve) => channel.once('close', () => resolve(code))),
    failure: () => undefined,
    close: () => channel.close(),
  };
}

export async function spawnOn({ target, argv, cwd }: RemoteCommand): Promise<RemoteProcess> {
  const shown = shellCommand(argv);
  let rawStderr = '';
  let pgid: number | undefined;
  const started = await start(target, wrappedCommand(argv, cwd), shown, (chunk: Buffer) => {
    // Only the tail is kept: a chatty command must not grow the worker's memory.
    rawStderr = (rawStderr + chunk.toString('utf8')).slice(-20_000);
    if (pgid === undefined) {
      const m = PGID_LINE.exec(rawStderr);
      if (m) pgid = Number(m[1]);
    }
  });
  const stderr = () => rawStderr.replace(PGID_LINE, '');
  return {
    channel: started.channel,
    exited: started.exited,
    stderr,
    check: (c) => {
      const failure = started.failure();
      if (failure) throw failure;
      if (c === null) {
        pool.forget(target);
        throw ApplicationFailure.retryable(
          `${target.name}: connection lost while running ${shown}`,
          FailureType.SshConnectionLost,
        );
      }
      if (c !== 0) {
        const output = tail(stderr(), 10, 1000).trim() || '(no output)';
        const message = `${target.name}: ${shown} exited with ${c}: ${output}`;
        throw ApplicationFailure.create({
          message,
          type: FailureType.CommandFailed,
          nonRetryable: c >= 125 && c <= 127,
          details: [{ host: target.name, command: shown, exitCode: c, stderrTail: tail(stderr()) }],
        });
      }
    },
    kill: async () => {
      if (pgid) {
        await startCommand(target, shellCommand(['kill', '-KILL', '--', `-${pgid}`]))
          .then((k) => k.result)
          .catch(() => undefined);
      }
      started.close();
    },
  };
}

export interface PipeOptions {
  timeoutMs: number;
  /** Called about every second with the bytes moved so far (the activity also heartbeats them). */
  onProgress?: (bytes: number) => void;
}

export interface Piped {
  bytes: number;
  sha256: string;
}

const HEARTBEAT_MS = 1_000;

/**
 * Runs `from` and `to` at once and pipes the first's stdout into the second's stdin through
 * the worker, with backpressure, hashing (sha256) and counting the bytes as they pass. Both
 * must exit 0; when either fails, times out or the activity is cancelled, both are killed.
 */
export async function pipeBetween(from: RemoteCommand, to: RemoteCommand, options: PipeOptions): Promise<Piped> {
  const ctx = activityContext();
  const hash = createHash('sha256');
  let bytes = 0;
  const sink = await spawnOn(to);
  let source: RemoteProcess;
  try {
    source = await spawnOn(from);
  } catch (err) {
    await sink.kill();
    throw err;
  }
  const src = source.channel;
  const dst = sink.channel;
  // A write to a channel the other side closed errors; the exit codes say what happened.
  src.on('error', () => undefined);
  dst.on('error', () => undefined);
  // The sink's stdout is not used, but must flow for its channel to close; the source reads
  // no stdin, and sshd closes a channel only once its input has ended too.
  dst.resume();
  src.end();
  src.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
    if (!dst.write(chunk)) {
      src.pause();
      dst.once('drain', () => src.resume());
    }
  });
  src.once('end', () => dst.end());

  let stop: (reason: Error) => void = () => undefined;
  const stopped = new Promise<never>((_, reject) => (stop = reject));
  const timer = setTimeout(
    () =>
      stop(
        ApplicationFailure.retryable(
          `${from.target.name} → ${to.target.name}: stream timed out after ${Math.round(options.timeoutMs / 1000)}s`,
          FailureType.CommandTimedOut,
        ),
      ),
    options.timeoutMs,
  );
  const progress = setInterval(() => {
    options.onProgress?.(bytes);
    ctx?.heartbeat({ bytes });
  }, HEARTBEAT_MS);
  const onCancel = () =>
    stop(ctx!.cancellationSignal.reason instanceof Error ? ctx!.cancellationSignal.reason : new Error('cancelled'));
  ctx?.cancellationSignal.addEventListener('abort', onCancel);
  try {
    // The first failure wins: a sink that dies (disk full) stops the source, and the reverse.
    await Promise.race([Promise.all([source.exited.then(source.check), sink.exited.then(sink.check)]), stopped]);
    return { bytes, sha256: hash.digest('hex') };
  } catch (err) {
    await Promise.all([source.kill(), sink.kill()]);
    throw err;
  } finally {
    clearTimeout(timer);
    clearInterval(progress);
    ctx?.cancellationSignal.removeEventListener('abort', onCancel);
  }
}

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}
