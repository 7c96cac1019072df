// The test bed of real hosts (scripts/testbed/testbed.sh), for the suite, the demo and benches.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { projectRoot } from '../src/config';

const script = path.join(projectRoot, 'scripts', 'testbed', 'testbed.sh');

function testbed(command: 'up' | 'down' | 'status', quiet: boolean): number {
  const ran = spawnSync('bash', [script, command], { stdio: quiet ? 'ignore' : ['ignore', 'inherit', 'inherit'] });
  return ran.status ?? 1;
}

export function testbedIsUp(): boolean {
  return testbed('status', true) === 0;
}

/** Brings the test bed up; returns whether it was down before (so the caller should take it down). */
export function ensureTestbedUp(): boolean {
  if (testbedIsUp()) return false;
  if (testbed('up', false) !== 0) throw new Error('npm run testbed -- up failed (see its output above)');
  return true;
}

/**
 * A test bed as `up` makes it, whatever earlier runs did to it (deploys, migrations): taken
 * down first if it was up (its runtime state goes with it), then brought up. Returns whether
 * it was down before.
 */
export function freshTestbed(): boolean {
  const wasUp = testbedIsUp();
  if (wasUp) testbedDown();
  if (testbed('up', false) !== 0) {
    // A half-started bed (hosts without sshd, say) must not outlive the failed run.
    testbedDown();
    throw new Error('npm run testbed -- up failed (see its output above)');
  }
  return !wasUp;
}

export function testbedDown(): void {
  testbed('down', false);
}
