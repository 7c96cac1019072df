// deploy (blue/green): install on the idle colour, start and health-check it, optionally
// approve, switch the load balancer, keep the old colour for a rollback window, stop it. Any
// failure until then puts traffic back on the old colour and stops the new one.
import { parseDuration } from '../src/duration';
import type { RunInput, RunResult } from '../src/shared';
import { installOnIdle, planRelease, switchColours } from './blue-green';
import { runbook } from './kernel';

export type DeployParams = { ref: string; gate?: boolean; 'rollback-window'?: string };

export async function deploy(input: RunInput<DeployParams>): Promise<RunResult> {
  const { env } = input;
  const window = input.params['rollback-window'] ?? '10m';
  return runbook(input, async (rb) => {
    const release = await planRelease(rb, env, input.params.ref);
    await installOnIdle(rb, env, release);
    await switchColours(rb, env, release, { gate: input.params.gate, window, windowMs: parseDuration(window, 'rollback-window') });
  });
}
