// The worker's log: one JSON object per line on stdout, no colours (journald keeps each line as
// one entry; `journalctl -o cat | jq` reads them back). Every line goes through the SDK's runtime
// logger, so the SDK's own lines (worker state, workflow and activity failures, Core's warnings)
// and the engine's (runs, steps, activities: workflows/kernel/run-log.ts, worker/activity-log.ts)
// are one stream in one shape. pino writes it: a well-kept logger, fast and JSON-first.
//
// Secrets: every value the worker resolved (activities/secrets.ts) is replaced in every line, in
// each form the ssh layer redacts (URL-encoded, base64, ...), whatever field it hides in.
import { Writable } from 'node:stream';
import pino from 'pino';
import { LogTimestamp, type Logger, type LogLevel, type LogMetadata } from '@temporalio/worker';
import { resolvedSecrets } from '../activities/secrets';
import { redact } from '../activities/ssh/redact';

export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

/** RUNBOOK_LOG_LEVEL, checked: INFO unless set (runs, steps and activities are INFO lines). */
export function logLevel(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const level = (env.RUNBOOK_LOG_LEVEL ?? 'INFO').trim().toUpperCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    throw new Error(`RUNBOOK_LOG_LEVEL=${JSON.stringify(env.RUNBOOK_LOG_LEVEL)}: want one of ${LOG_LEVELS.join(', ')}`);
  return level as LogLevel;
}

/** A field's value as at most this many characters: a line stays a line journald keeps whole. */
const MAX_FIELD = 4000;

/**
 * The runtime's logger: a Temporal Logger writing through pino to `destination` (stdout unless a
 * test captures it). `secrets` names what to redact; the worker's are every value it resolved.
 */
export class JsonLogger implements Logger {
  private readonly pino: pino.Logger;

  constructor(
    readonly level: LogLevel,
    destination: NodeJS.WritableStream = process.stdout,
    private readonly secrets: () => readonly string[] = resolvedSecrets,
  ) {
    this.pino = pino(
      {
        level: level.toLowerCase(),
        // The time comes from the line itself (the SDK stamps workflow lines when they were
        // logged, which may be up to 100 ms before they are written).
        timestamp: false,
        base: undefined,
        messageKey: 'msg',
        formatters: { level: (label) => ({ level: label }) },
      },
      destination,
    );
  }

  log(level: LogLevel, message: string, meta: LogMetadata = {}): void {
    const method = level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
    if (!this.pino.isLevelEnabled(method)) return;
    const stamp = (meta as Record<symbol, unknown>)[LogTimestamp];
    const time = typeof stamp === 'bigint' ? new Date(Number(stamp / 1_000_000n)) : new Date();
    const secrets = this.secrets();
    this.pino[method]({ time: time.toISOString(), ...fields(meta, secrets) }, clean(message, secrets));
  }

  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}

/**
 * The line's fields. `runId` is the run's id as `runbook status` takes it (Temporal's workflow
 * id); the SDK's own `runId` (Temporal's id of one execution) is kept as `temporalRunId`.
 */
function fields(meta: LogMetadata, secrets: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(meta)) out[key] = plain(value, secrets, 0);
  if (typeof meta.workflowId === 'string' && meta.sdkComponent !== undefined) {
    if (typeof meta.runId === 'string' && meta.runId !== meta.workflowId) out.temporalRunId = meta.runId;
    out.runId = meta.workflowId;
  }
  return out;
}

/** A value as JSON can carry it: errors as their type and message, strings redacted and bounded. */
function plain(value: unknown, secrets: readonly string[], depth: number): unknown {
  if (typeof value === 'string') return clean(value, secrets);
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (depth > 4) return '[nested]';
  if (value instanceof Error)
    return { type: (value as { type?: string }).type ?? value.name, message: clean(chain(value), secrets) };
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => plain(v, secrets, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v, secrets, depth + 1)]));
}

/** An error's messages down its causes: the activity's own words, not only "Activity task failed". */
function chain(err: Error): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 5; e = e.cause)
    if (e.message && !parts.includes(e.message)) parts.push(e.message);
  return parts.join(': ');
}

function clean(text: string, secrets: readonly string[]): string {
  const out = secrets.length ? redact(text, secrets) : text;
  return out.length > MAX_FIELD ? `${out.slice(0, MAX_FIELD)}…` : out;
}

/** A stream that keeps what is written to it, line by line: for tests reading the log. */
export class CapturedLines extends Writable {
  readonly text: string[] = [];
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: () => void): void {
    this.text.push(chunk.toString());
    done();
  }
  lines(): Record<string, unknown>[] {
    return this.text
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}
