// One user of the test bed at a time for a whole suite or bench run: a second suite started
// meanwhile (another checkout, a bench) would otherwise take the bed down under the first.
// The lease is a `flock` held by a child process on a pipe; if this process dies, the pipe
// closes, the child exits and the lease is released with it.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The bed's hosts are network namespaces and a bridge named the same on the whole machine,
 * whatever RUNBOOK_CACHE_DIR a suite uses, so the lease is machine-wide too.
 */
function leaseFile(): string {
  return process.env.RUNBOOK_TESTBED_LEASE || '/tmp/runbook-testbed.lease';
}

export interface TestbedLease {
  release(): Promise<void>;
}

export async function leaseTestbed(): Promise<TestbedLease> {
  const file = leaseFile();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const holder: ChildProcess = spawn('flock', [file, 'sh', '-c', 'echo held; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting = setTimeout(
    () => console.error('waiting for another suite or bench to finish with the test bed...'),
    2000,
  );
  try {
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.once('data', () => resolve());
      holder.once('error', reject);
      holder.once('exit', (code) => reject(new Error(`flock ${file} exited with ${String(code)}`)));
    });
  } finally {
    clearTimeout(waiting);
  }
  return {
    release: () =>
      new Promise<void>((resolve) => {
        if (holder.exitCode !== null) return resolve();
        holder.once('exit', () => resolve());
        holder.stdin!.end();
      }),
  };
}
