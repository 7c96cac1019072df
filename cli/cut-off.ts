// A run Temporal ended from outside (terminated, or past its execution timeout) ran no undo: the
// steps it had registered one for are left as they were, and only its last known progress says
// which. status, watch and history say so on a line of their own, and watch exits as for a
// failed undo (5): work is left for a person.
import type { RunProgress } from '../common/shared';
import { inertText } from '../common/inert';

/** Workflow statuses in which the run's own code never got to undo anything. */
const CUT_OFF = ['TERMINATED', 'TIMED_OUT'];

/** What a person must undo after a run was cut off: its registered undos and any that failed; [] when none. */
export function leftByCutOff(workflowStatus: string, p: RunProgress | undefined): string[] {
  if (!p || !CUT_OFF.includes(workflowStatus)) return [];
  return [...new Set([...(p.undosRegistered ?? []), ...p.leftToUndo])];
}

/** `TERMINATED — needs a person: left to undo announce, prepare`, or undefined. */
export function cutOffText(workflowStatus: string, p: RunProgress | undefined): string | undefined {
  const left = leftByCutOff(workflowStatus, p);
  if (!left.length) return undefined;
  // Newest first, as the run itself would have undone them.
  const steps = [...left].reverse().map((s) => inertText(s));
  return (
    `${workflowStatus} — needs a person: left to undo ${steps.join(', ')} ` +
    '(the run was ended from outside before it could undo them; its last known progress is shown)'
  );
}
