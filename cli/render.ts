// A run's progress as lines for a person: steps with status and duration, the open gate and
// how to decide it, the decisions, the undos, the outcome. Shared by `watch` (live) and
// `history` (the audit trail). Fields it does not know are ignored, so newer workflows that
// record more still render.
import { formatDuration } from '../common/duration';
import type { ApprovalRecord, FailureDecisionRecord, GateRecord, RunProgress } from '../common/shared';

/** One line, keyed so a follower can tell a changed line from a new one. */
export interface Line {
  key: string;
  text: string;
}

const MARK: Record<string, string> = {
  running: '▶', done: '✓', failed: '✗', compensating: '↺', compensated: '↩', compensation_failed: '⚠',
};

/**
 * How long something took, or (with `now`) has taken so far. Without `now` a thing still
 * running has no duration: its line then stays the same until it ends.
 */
function took(startedAt: string, endedAt: string | undefined, now: number | undefined): string {
  const start = Date.parse(startedAt);
  if (endedAt) return ` in ${formatDuration(Date.parse(endedAt) - start)}`;
  return now === undefined ? '' : ` for ${formatDuration(now - start)}`;
}

/** Someone who may decide at the gate: a listed approver who did not start the run and has not decided yet. */
export function suggestedApprover(p: RunProgress, gate: GateRecord): string {
  const decided = new Set(p.approvals.filter((a) => a.gate === gate.name && !a.refused).map((a) => a.approver));
  return gate.approvers.find((a) => a !== p.initiator && !decided.has(a)) ?? '<approver>';
}

export function approvalText(a: ApprovalRecord): string {
  const verb = a.refused ? `REFUSED ${a.decision ?? 'decision'}` : a.decision === 'approve' ? 'approved' : 'rejected';
  const comment = a.comment ? `: ${JSON.stringify(a.comment)}` : '';
  const key = a.key ? `, signed with ${a.key}` : '';
  return `${verb} by ${a.approver} at ${a.gate || '(no gate)'} ${a.at} via ${a.via}${key}${comment}${a.refused ? ` (${a.refused})` : ''}`;
}

export function failureDecisionText(d: FailureDecisionRecord): string {
  const key = d.key ? `, signed with ${d.key}` : '';
  return `${d.refused ? `refused ${d.decision}` : d.decision} by ${d.by} at ${d.at} via ${d.via}${key}${d.comment ? `: ${d.comment}` : ''}${d.refused ? ` (${d.refused})` : ''}`;
}

export interface RenderOptions {
  /** The Web UI page of the run. */
  url: string;
  /** The clock for the durations of what is still running; absent for lines that must not change while it runs. */
  now?: number;
}

/** The run as it stands. */
export function progressLines(runId: string, p: RunProgress, options: RenderOptions): Line[] {
  const lines: Line[] = [{ key: 'state', text: `${runId}: ${p.runbook} on ${p.env}, started by ${p.initiator}: ${p.state}` }];
  p.steps.forEach((s, i) => {
    const error = s.error ? ` (${s.error})` : '';
    lines.push({ key: `step:${i}`, text: `  ${MARK[s.status] ?? '-'} step ${s.name}: ${s.status}${changedNote(s)}${took(s.startedAt, s.endedAt, options.now)}${error}` });
  });
  p.gates.forEach((g, i) => {
    if (g.outcome) {
      lines.push({ key: `gate:${i}`, text: `  ${g.outcome === 'approved' ? '✓' : '✗'} gate ${g.name}: ${g.outcome}${took(g.openedAt, g.closedAt, undefined)}` });
      return;
    }
    lines.push({ key: `gate:${i}`, text: `  ⏸ gate ${g.name}: waiting for ${g.required} approval(s) from ${g.approvers.join(', ')} until ${g.deadline}` });
    if (p.gate?.name === g.name) {
      lines.push({ key: `gate:${i}:cli`, text: `      approve: runbook approve ${runId} --as ${suggestedApprover(p, g)} [--comment ...]` });
      lines.push({ key: `gate:${i}:ui`, text: `      or in the Web UI: ${options.url} (Send a Signal "approval")` });
    }
  });
  p.approvals.forEach((a, i) => lines.push({ key: `approval:${i}`, text: `  ${a.refused ? '!' : '·'} ${approvalText(a)}` }));
  p.compensations.forEach((c, i) => {
    const error = c.error ? ` (${c.error})` : '';
    lines.push({ key: `undo:${i}`, text: `  ↺ undo ${c.step}: ${c.status}${took(c.startedAt, c.endedAt, options.now)}${error}` });
  });
  if (p.reason) lines.push({ key: 'reason', text: `  reason: ${p.reason}` });
  if (p.leftToUndo.length) lines.push({ key: 'left', text: `  LEFT TO UNDO BY HAND: ${p.leftToUndo.join(', ')}` });
  return lines;
}

/** For steps that converge a host: whether they had to change it (a second provision says no everywhere). */
export function changedNote(s: { changed?: boolean; detail?: string }): string {
  if (s.changed === false) return ', unchanged';
  return s.changed && s.detail ? `, changed: ${s.detail}` : '';
}
