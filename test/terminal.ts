// A command in a real pseudo-terminal (tmux, on a server of its own), and what its screen shows.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Terminal {
  /** The visible screen, trailing blank lines dropped. */
  screen(): Promise<string>;
  /** Polls the screen until `done` holds; returns every distinct screen seen on the way, the last one last. */
  waitFor(done: (screen: string) => boolean, what: string, timeoutMs?: number): Promise<string[]>;
  close(): Promise<void>;
}

/** Runs `argv` in a `columns` x `rows` terminal; when it exits the screen gets `[exit N]` and stays. */
export async function openTerminal(
  argv: string[],
  env: Record<string, string>,
  columns = 200,
  rows = 50,
): Promise<Terminal> {
  const socket = `runbook-test-${randomUUID().slice(0, 8)}`;
  const tmux = (...args: string[]) => run('tmux', ['-L', socket, '-f', '/dev/null', ...args]);
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const envFlags = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  await tmux(
    'new-session',
    '-d',
    '-s',
    'test',
    '-x',
    String(columns),
    '-y',
    String(rows),
    ...envFlags,
    `${quoted}; echo "[exit $?]"; sleep 3600`,
  );
  const screen = async () => (await tmux('capture-pane', '-p', '-t', 'test')).stdout.replace(/\s+$/, '');
  return {
    screen,
    waitFor: async (done, what, timeoutMs = 60_000) => {
      const seen: string[] = [];
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const now = await screen();
        if (seen[seen.length - 1] !== now) seen.push(now);
        if (done(now)) return seen;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the screen:\n${now}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    close: async () => {
      await tmux('kill-server').catch(() => undefined);
    },
  };
}
