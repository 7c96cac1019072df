// deploy (blue/green): install on the idle colour, start and health-check it, optionally
// approve, switch the load balancer, keep the old colour for a rollback window, stop it. Any
// failure until then puts traffic back on the old colour and stops the new one.
import type { RunInput, RunResult } from '../common/shared';
import { installOnIdle, planRelease, switchColours, switchOptions, type ReleaseParams } from './blue-green';
import { runbook } from './kernel';

export async function deploy(input: RunInput<ReleaseParams>): Promise<RunResult> {
  const { env } = input;
  return runbook(input, async (rb) => {
    const release = await planRelease(rb, env, input.params);
    await installOnIdle(rb, env, release);
    await switchColours(rb, env, release, switchOptions(input.params));
  });
}
