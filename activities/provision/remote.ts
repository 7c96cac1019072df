// How provision's activities act on the host: as the login the run is using (root until the
// ops user is proven, then the ops user through sudo), with on-host records of what this run
// changed, so a retried step does not lose them and an undo knows what to put back.
import { ApplicationFailure } from '@temporalio/common';
import { markerPath } from '../ssh/once';
import { runOn, type CommandResult, type RunOptions } from '../ssh/run';
import { resolveTarget } from '../ssh/target';
import { FailureType } from '../../common/failure-types';

export interface ProvisionRef {
  env: string;
  host: string;
  /** The user this step logs in as. */
  login: string;
  runId: string;
}

/** What a provision step did: the second run of a provisioned host reports `changed: false` everywhere. */
export interface StepOutcome {
  changed: boolean;
  detail?: string;
}

const RECORDS = '/var/lib/runbook/provision';

/** Where this run keeps, on the host, what it changed (previous files, created users...). */
export function recordDir(runId: string): string {
  markerPath(runId, 'provision'); // validates the run id for use in a path
  return `${RECORDS}/${runId}`;
}

export function asRoot(ref: ProvisionRef, argv: readonly string[]): string[] {
  return ref.login === 'root' ? [...argv] : ['sudo', '-n', '--', ...argv];
}

export function onHost(ref: ProvisionRef, argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  return runOn(resolveTarget(ref), asRoot(ref, argv), options);
}

/**
 * A fixed script of ours, run by sh with its data as positional parameters ($1, $2...): the
 * data is never part of the script text, so nothing in it is interpreted by the shell.
 */
export function script(
  ref: ProvisionRef,
  body: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<CommandResult> {
  return onHost(ref, ['sh', '-c', `set -eu\n${body}`, 'provision', ...args], { retryable: true, ...options });
}

/** The last line a script printed: scripts end by saying `changed` or `unchanged`. */
export function outcome(result: CommandResult, detail?: string): StepOutcome {
  const last = result.stdout.trim().split('\n').pop() ?? '';
  if (last !== 'changed' && last !== 'unchanged')
    throw ApplicationFailure.nonRetryable(
      `unexpected script output: ${JSON.stringify(last)}`,
      FailureType.ProvisionScript,
    );
  return { changed: last === 'changed', detail };
}

export function merge(...outcomes: StepOutcome[]): StepOutcome {
  return {
    changed: outcomes.some((o) => o.changed),
    detail:
      outcomes
        .map((o) => o.detail)
        .filter(Boolean)
        .join('; ') || undefined,
  };
}
