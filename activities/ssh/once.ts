// Steps that change a host run at least once (a retry, a worker killed mid-step). A marker on
// the host, keyed by run and step, is checked first and written after success, so a step's
// command acts once per run however often its activity runs.
import { ApplicationFailure } from '@temporalio/common';
import { runOn, type CommandResult, type RunOptions } from './run';
import type { SshTarget } from './target';
import { FailureType } from '../../common/failure-types';

export const MARKER_DIR = '/var/lib/runbook/steps';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export function markerPath(runId: string, step: string): string {
  for (const [what, v] of [
    ['run id', runId],
    ['step', step],
  ]) {
    if (!NAME.test(v) || v.includes('..'))
      throw ApplicationFailure.nonRetryable(`unsafe ${what} for a marker: ${JSON.stringify(v)}`, FailureType.BadInput);
  }
  return `${MARKER_DIR}/${runId}/${step}`;
}

const ALREADY = 'runbook: step already done by this run';
// flock: an attempt orphaned by a dead worker may still be running on the host when the retry
// arrives; the retry waits for it, then finds its marker. Scripts travel as arguments, so
// nothing is quoted twice.
// The command writes into two FIFOs beside the marker, relayed to the SSH channel by `cat`; when
// the channel goes (the worker was killed), the relay drains into /dev/null instead. Written to
// the channel itself, the command would fail on its next write (EPIPE: `supervisorctl restart`
// prints "started" after starting) and leave no marker, and the retry would act a second time.
// One line, as errors quote it: operators and tests read a failed step's command on one line.
const CHECK_RUN_MARK = [
  'm=$1; shift;',
  `if [ -e "$m" ]; then echo '${ALREADY}' >&2; exit 0; fi;`,
  'rm -f -- "$m.out" "$m.err" && mkfifo -m 0600 -- "$m.out" "$m.err" || exit 125;',
  '{ cat || cat >/dev/null; } <"$m.out" &',
  '{ cat >&2 || cat >/dev/null; } <"$m.err" &',
  '"$@" >"$m.out" 2>"$m.err"; rc=$?;',
  'if [ "$rc" -eq 0 ]; then : > "$m"; fi;',
  'wait; rm -f -- "$m.out" "$m.err"; exit "$rc"',
].join(' ');
const LOCKED = 'inner=$1; m=$2; shift 2; mkdir -p "${m%/*}" && exec flock "$m.lock" sh -c "$inner" runbook "$m" "$@"';

export interface OnceResult extends CommandResult {
  /** False when the marker said the step had already been done by this run. */
  ran: boolean;
}

export async function runOnce(
  target: SshTarget,
  runId: string,
  step: string,
  argv: readonly string[],
  options: RunOptions = {},
): Promise<OnceResult> {
  const result = await runOn(
    target,
    ['sh', '-c', LOCKED, 'runbook', CHECK_RUN_MARK, markerPath(runId, step), ...argv],
    options,
  );
  const ran = !result.stderr.startsWith(ALREADY);
  return { ...result, stderr: ran ? result.stderr : '', ran };
}

/** Forgets a step's marker, so its undo can be followed by a fresh run of the step. */
export async function clearMarker(target: SshTarget, runId: string, step: string): Promise<void> {
  await runOn(target, ['rm', '-f', '--', markerPath(runId, step)]);
}
