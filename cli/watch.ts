// Following a run until it closes (`runbook watch`, `runbook start --follow`): the progress
// query polled twice a second, shown as a redrawn display on a terminal, as one line per
// change elsewhere, or as JSON lines; the exit code says how the run ended.
import type { Client } from '@temporalio/client';
import type { RunProgress } from '../common/shared';
import { readStatus, retryText, type RunStatus } from './progress';
import { progressLines, type Line } from '../common/progress-view';
import { inertText } from '../common/inert';
import { cutOffText, leftByCutOff } from './cut-off';

export type WatchMode = 'tty' | 'lines' | 'json';

const POLL_MS = 500;

/** Exit codes of a followed run (2 and 3 are usage and connection errors, see src/errors.ts). */
export const EXIT = {
  completed: 0,
  /** Rejected, timed out, failed and put back, cancelled or terminated. */
  notCompleted: 1,
  /** Another run held the environment (as `runbook start` reports it). */
  refused: 4,
  /** Some undo failed: work is left for a human. */
  leftToUndo: 5,
  /** Failed after its point of no return: the settled change stands, the record says what is left to do. */
  settledThenFailed: 6,
  /** The watcher was interrupted; the run goes on. */
  interrupted: 130,
} as const;

export function exitCodeOf(status: RunStatus): number {
  const state = status.progress?.state;
  if (status.status === 'COMPLETED' && (state === undefined || state === 'COMPLETED')) return EXIT.completed;
  if (state === 'REFUSED') return EXIT.refused;
  if (state === 'FAILED_COMPENSATION' || status.progress?.leftToUndo.length) return EXIT.leftToUndo;
  if (leftByCutOff(status.status, status.progress).length) return EXIT.leftToUndo;
  if (state === 'SETTLED_THEN_FAILED') return EXIT.settledThenFailed;
  return EXIT.notCompleted;
}

export function watchMode(json: boolean): WatchMode {
  if (json) return 'json';
  return process.stdout.isTTY ? 'tty' : 'lines';
}

export interface WatchOptions {
  mode: WatchMode;
  url: string;
  write?: (text: string) => void;
}

export async function watchRun(client: Client, runId: string, options: WatchOptions): Promise<number> {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  const view = {
    tty: () => new TtyView(runId, options.url, write),
    lines: () => new LinesView(runId, options.url, write),
    json: () => new JsonView(runId, write),
  }[options.mode]();
  const handle = client.workflow.getHandle(runId);
  let interrupted = false;
  const onInterrupt = () => (interrupted = true);
  process.once('SIGINT', onInterrupt);
  try {
    let last: RunProgress | undefined;
    for (;;) {
      const status = await readStatus(client, handle);
      // A closed run without a result (cancelled, terminated) and no worker to ask: the last
      // progress seen is the best record.
      status.progress ??= last;
      last = status.progress;
      if (status.status !== 'RUNNING') {
        const code = exitCodeOf(status);
        view.end(status, code);
        return code;
      }
      view.show(status);
      await new Promise((r) => setTimeout(r, POLL_MS));
      if (interrupted) {
        view.interrupted();
        return EXIT.interrupted;
      }
    }
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
}

interface View {
  show(status: RunStatus): void;
  end(status: RunStatus, exitCode: number): void;
  interrupted(): void;
}

function outcomeText(runId: string, status: RunStatus, exitCode: number): string {
  const state = status.progress?.state;
  const how = state && state !== status.status ? `${state} (workflow ${status.status})` : status.status;
  const cutOff = cutOffText(status.status, status.progress);
  return `${runId}: ${how}, exit code ${exitCode}${cutOff ? `\n${cutOff}` : ''}`;
}

function noteLines(status: RunStatus): Line[] {
  // A worker's identity is whatever the worker said it is: shown inert.
  const retries = (status.retries ?? []).map((r) => ({
    key: `retry:${r.activity}:${r.attempt}`,
    text: `  ${inertText(retryText(r))}`,
  }));
  return [...retries, ...(status.note ? [{ key: 'note', text: `  (${inertText(status.note)})` }] : [])];
}

/** A terminal: the whole display redrawn in place, durations of what runs ticking. */
class TtyView implements View {
  private height = 0;

  constructor(
    private readonly runId: string,
    private readonly url: string,
    private readonly write: (text: string) => void,
  ) {}

  show(status: RunStatus): void {
    const lines = status.progress
      ? progressLines(status.progress, { runId: this.runId, decide: 'cli', url: this.url, now: Date.now() })
      : [{ key: 'state', text: `${this.runId}: ${status.status}` }];
    this.draw([
      ...lines,
      ...noteLines(status),
      { key: 'hint', text: '(watching; Ctrl-C stops watching, not the run)' },
    ]);
  }

  end(status: RunStatus, exitCode: number): void {
    const lines = status.progress
      ? progressLines(status.progress, { runId: this.runId, decide: 'cli', url: this.url })
      : [];
    // The last frame is not redrawn, so it may scroll: all of it is shown.
    this.draw([...lines, { key: 'outcome', text: outcomeText(this.runId, status, exitCode) }], true);
  }

  interrupted(): void {
    this.write(`stopped watching ${this.runId}; it goes on (runbook watch ${this.runId})\n`);
  }

  private draw(lines: Line[], final = false): void {
    const width = process.stdout.columns || 120;
    const height = process.stdout.rows || 50;
    // Lines never wrap and the display never scrolls, so the cursor can go back exactly as many
    // lines as were drawn. On a short terminal the oldest lines under the first make room.
    const shown =
      final || lines.length < height
        ? lines
        : [lines[0], { key: 'cut', text: '  …' }, ...lines.slice(lines.length - (height - 3))];
    const text = shown.map((l) => (l.text.length > width - 1 ? `${l.text.slice(0, width - 2)}…` : l.text));
    const up = this.height ? `\x1b[${this.height}F\x1b[J` : '';
    this.write(`${up}${text.join('\n')}\n`);
    this.height = text.length;
  }
}

/** Not a terminal (a log, a pipe, CI): each new or changed line once, in order. */
class LinesView implements View {
  private readonly printed = new Map<string, string>();

  constructor(
    private readonly runId: string,
    private readonly url: string,
    private readonly write: (text: string) => void,
  ) {}

  show(status: RunStatus): void {
    const lines = status.progress
      ? progressLines(status.progress, { runId: this.runId, decide: 'cli', url: this.url })
      : [{ key: 'state', text: `${this.runId}: ${status.status}` }];
    this.print([...lines, ...noteLines(status)]);
  }

  end(status: RunStatus, exitCode: number): void {
    const lines = status.progress
      ? progressLines(status.progress, { runId: this.runId, decide: 'cli', url: this.url })
      : [];
    this.print([...lines, { key: 'outcome', text: outcomeText(this.runId, status, exitCode) }]);
  }

  interrupted(): void {
    this.write(`stopped watching ${this.runId}; it goes on\n`);
  }

  private print(lines: Line[]): void {
    for (const line of lines) {
      if (this.printed.get(line.key) === line.text) continue;
      this.printed.set(line.key, line.text);
      this.write(`${line.text.trimStart()}\n`);
    }
  }
}

/** `--json`: one JSON object per line, for each change and for the outcome. */
class JsonView implements View {
  private lastProgress = '';

  constructor(
    private readonly runId: string,
    private readonly write: (text: string) => void,
  ) {}

  show(status: RunStatus): void {
    const progress = JSON.stringify(status.progress ?? null);
    if (progress === this.lastProgress) return;
    this.lastProgress = progress;
    this.write(
      `${JSON.stringify({
        event: 'progress',
        runId: this.runId,
        status: status.status,
        progress: status.progress,
        note: status.note,
      })}\n`,
    );
  }

  end(status: RunStatus, exitCode: number): void {
    this.write(
      `${JSON.stringify({
        event: 'outcome',
        runId: this.runId,
        status: status.status,
        state: status.progress?.state,
        exitCode,
        progress: status.progress,
      })}\n`,
    );
  }

  interrupted(): void {
    this.write(`${JSON.stringify({ event: 'interrupted', runId: this.runId })}\n`);
  }
}
