// Commands on an environment's hosts, for checks and for runbook steps that are one command.
import { runOn, type CommandResult } from './ssh/run';
import { resolveTarget, type HostRef } from './ssh/target';

export interface CommandInput extends HostRef {
  argv: string[];
  cwd?: string;
  timeoutMs?: number;
  okExitCodes?: number[];
}

export async function runCommand(input: CommandInput): Promise<CommandResult> {
  return runOn(resolveTarget(input), input.argv, { cwd: input.cwd, timeoutMs: input.timeoutMs, okExitCodes: input.okExitCodes });
}
