// The last step: every expected service is running and every expected port answers from
// outside, through the firewall, as clients will reach it.
import * as net from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { resolveTarget } from '../ssh/target';
import { provisionConfig } from './config';
import { script, type ProvisionRef, type StepOutcome } from './remote';

function portAnswers(address: string, port: number, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port, timeout: timeoutMs });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

// $1... services; prints the ones not running.
const SERVICES_DOWN = `
for s in "$@"; do service "$s" status >/dev/null 2>&1 || echo "$s"; done
ufw status | grep -qx 'Status: active' || echo ufw
pg_isready -q -h 127.0.0.1 || echo 'postgresql (pg_isready)'
fail2ban-client status sshd >/dev/null 2>&1 || echo 'fail2ban sshd jail'`;

export async function verifyProvisioned(ref: ProvisionRef): Promise<StepOutcome> {
  const c = provisionConfig(ref.env);
  const down = (await script(ref, SERVICES_DOWN, c.services)).stdout.trim().split('\n').filter(Boolean);
  const { address } = resolveTarget(ref);
  const closed: number[] = [];
  for (const port of c.checkPorts) if (!(await portAnswers(address, port))) closed.push(port);
  const problems = [
    ...(down.length ? [`not running: ${down.join(', ')}`] : []),
    ...(closed.length ? [`ports not answering at ${address}: ${closed.join(', ')}`] : []),
  ];
  // Retrying gives services a moment to come up; past that it is a real failure.
  if (problems.length)
    throw ApplicationFailure.retryable(`${ref.host} is not as provisioned: ${problems.join('; ')}`, 'NotProvisioned');
  return { changed: false, detail: `running: ${c.services.join(', ')}; answering: ${c.checkPorts.join(', ')}` };
}
