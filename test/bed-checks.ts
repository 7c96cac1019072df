// What tests on the test bed look at: the commit the load balancer serves, whether a colour's
// app runs, a host through its console (no SSH needed).
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { runCommand } from '../activities/hosts';
import { projectRoot } from '../src/config';

export const LB = 'http://10.213.0.30/health';

export async function served(): Promise<{ status: number; commit?: string }> {
  const res = await fetch(LB, { signal: AbortSignal.timeout(3000) });
  const body = (await res.json().catch(() => ({}))) as { commit?: string };
  return { status: res.status, commit: body.commit };
}

export async function appRunning(host: string): Promise<boolean> {
  const out = await runCommand({ env: 'local', host, argv: ['supervisorctl', 'status', 'app'], okExitCodes: [0, 3] });
  return /RUNNING/.test(out.stdout);
}

/** A command as root inside a host through its console, not SSH: for tests that stop sshd or turn root login off. */
export async function onConsole(host: string, script: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    'bash',
    [path.join(projectRoot, 'scripts', 'testbed', 'testbed.sh'), 'console', host, 'sh', '-c', script],
    { maxBuffer: 16 << 20 },
  );
  return stdout;
}
