// Commands on an environment's hosts, for checks and for runbook steps that are one command.
import { clearMarker, runOnce, type OnceResult } from './ssh/once';
import { runOn, type CommandResult } from './ssh/run';
import { resolveTarget, type HostRef } from './ssh/target';

export interface CommandInput extends HostRef {
  argv: string[];
  cwd?: string;
  timeoutMs?: number;
  okExitCodes?: number[];
}

export async function runCommand(input: CommandInput): Promise<CommandResult> {
  return runOn(resolveTarget(input), input.argv, {
    cwd: input.cwd,
    timeoutMs: input.timeoutMs,
    okExitCodes: input.okExitCodes,
  });
}

export interface StepCommandInput extends CommandInput {
  runId: string;
  step: string;
}

/** A step's command, run at most once per run on its host (see ssh/once.ts). */
export async function runStepCommand(input: StepCommandInput): Promise<OnceResult> {
  return runOnce(resolveTarget(input), input.runId, input.step, input.argv, {
    cwd: input.cwd,
    timeoutMs: input.timeoutMs,
  });
}

/** An undo's command; it also clears the step's marker, so the step may run again later. */
export async function undoStepCommand(input: StepCommandInput): Promise<CommandResult> {
  const target = resolveTarget(input);
  const result = await runOn(target, input.argv, {
    cwd: input.cwd,
    timeoutMs: input.timeoutMs,
    okExitCodes: input.okExitCodes,
  });
  await clearMarker(target, input.runId, input.step);
  return result;
}
