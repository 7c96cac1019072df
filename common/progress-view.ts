// A run's progress as a person reads it, in every view: `runbook status`, `runbook watch`
// (live), `runbook history` (the audit trail) and the Web UI's current details. One renderer,
// so a status or a record (skipped, a failure gate, a refused decision) reads the same
// everywhere and a new one is added once. Fields it does not know are ignored, so newer
// workflows that record more still render. Imported by workflow code: no Node built-ins, no I/O.
import { formatDuration } from './duration';
import type {
  ApprovalRecord,
  FailureDecisionRecord,
  FailureGateRecord,
  GateRecord,
  RunProgress,
  StepRecord,
} from './shared';
import { hostLines } from './host-lines';

/** One line, keyed so a follower can tell a changed line from a new one. */
export interface Line {
  key: string;
  text: string;
}

export interface ViewOptions {
  /** The run's id: the header and the CLI commands that decide name it. */
  runId: string;
  /** How an open gate is decided: CLI commands (status, watch), the Web UI's signals, or not at all (history). */
  decide: 'cli' | 'ui' | 'none';
  /** The run's Web UI page, offered beside the CLI commands. */
  url?: string;
  /** `took`: how long each thing took (` in 1.2s`); `span`: when it started and ended (the audit trail). */
  times?: 'took' | 'span';
  /** The clock for what still runs (` for 3s`); absent for lines that must not change while it runs. */
  now?: number;
}

/** A step's, a gate's or an undo's mark: the same in every view. */
export const MARK: Record<string, string> = {
  running: '▶',
  done: '✓',
  failed: '✗',
  skipped: '⤼',
  compensating: '↺',
  compensated: '↩',
  compensation_failed: '⚠',
  approved: '✓',
  rejected: '✗',
  timed_out: '✗',
  cancelled: '✗',
  open: '⏸',
};

interface Item {
  key: string;
  text: string;
  /** 0: the header; 1: an item; 2: a detail of the item above. */
  depth: 0 | 1 | 2;
  /** Output as the command wrote it (a code block in Markdown). */
  code?: boolean;
}

/** The run as lines of plain text, indented: for `status`, `watch` and `history`. */
export function progressLines(p: RunProgress, options: ViewOptions): Line[] {
  return items(p, options).map(({ key, text, depth, code }) => {
    const indent = '  '.repeat(depth);
    return { key, text: code ? `${indent}  | ${text}` : `${indent}${text}` };
  });
}

/** The run as Markdown: the Web UI's current details. */
export function progressMarkdown(p: RunProgress, options: ViewOptions): string {
  const out: string[] = [];
  let inCode = false;
  for (const { text, depth, code } of items(p, options)) {
    // A fence opens before the first line of output and closes after its last.
    if (Boolean(code) !== inCode) out.push('```');
    inCode = Boolean(code);
    out.push(code ? text : depth === 0 ? `**${text}**` : `${depth === 2 ? '  ' : ''}- ${text}`);
  }
  if (inCode) out.push('```');
  return out.join('\n');
}

function items(p: RunProgress, o: ViewOptions): Item[] {
  const header = `${o.runId}: ${p.runbook} on ${p.env}, started by ${p.initiator}: ${p.state}`;
  const out: Item[] = [{ key: 'state', text: header, depth: 0 }];
  const add = (key: string, text: string, depth: 1 | 2 = 1, code = false) => out.push({ key, text, depth, code });
  const time = (startedAt: string, endedAt: string | undefined, live = true) => timeText(startedAt, endedAt, o, live);

  p.steps.forEach((s, i) => add(`step:${i}`, stepText(s, time(s.startedAt, s.endedAt))));
  p.gates.forEach((g, i) => {
    if (g.outcome) {
      // The audit trail also says who could decide and whether they were told.
      const notice = g.notified ? `; notice ${g.notified}` : '';
      const audit = o.times === 'span' ? `; ${g.required} of ${g.approvers.join(', ')}${notice}` : '';
      const took = time(g.openedAt, g.closedAt, false);
      add(`gate:${i}`, `${MARK[g.outcome] ?? '-'} gate ${g.name}: ${g.outcome}${took}${audit}`);
      return;
    }
    const from = `${g.required} approval(s) from ${g.approvers.join(', ')}`;
    add(`gate:${i}`, `${MARK.open} gate ${g.name}: waiting for ${from} until ${g.deadline}`);
    if (p.gate?.name === g.name) gateHints(p, g, o).forEach((text, j) => add(`gate:${i}:${j}`, text, 2));
  });
  p.approvals.forEach((a, i) => add(`approval:${i}`, `${a.refused ? '!' : '·'} ${approvalText(a)}`));
  (p.failureGates ?? []).forEach((g, i) => {
    const outcome = g.outcome ?? `waiting for a decision until ${g.deadline} (then rolls back)`;
    const when = o.times === 'span' ? time(g.openedAt, g.closedAt, false) : '';
    add(`failure:${i}`, `${g.outcome ? '·' : MARK.open} failure gate at ${g.step}: ${outcome}${when}`);
    g.decisions.forEach((d, j) => add(`failure:${i}:${j}`, decisionText(d), 2));
    if (!g.outcome && p.failureGate?.openedAt === g.openedAt) {
      failureGateDetail(p, o, g).forEach(([text, code], j) => add(`failure:${i}:open:${j}`, text, 2, code));
    }
  });
  (p.strayDecisions ?? []).forEach((d, i) => add(`stray:${i}`, decisionText(d)));
  p.compensations.forEach((c, i) => {
    const error = c.error ? ` (${c.error})` : '';
    add(`undo:${i}`, `${MARK.compensating} undo ${c.step}: ${c.status}${time(c.startedAt, c.endedAt)}${error}`);
  });
  // Fleet runbooks: what became of each host (every one in the audit trail, with its output).
  hostLines(p, o.times === 'span').forEach((text, i) => add(`hosts:${i}`, text.trimStart(), i === 0 ? 1 : 2));
  p.settled.forEach((k, i) => {
    const at = o.times === 'span' ? ` at ${k.at}` : '';
    add(`settled:${i}`, `settled${at} (${k.why}): ${k.steps.join(', ') || '(nothing)'} kept whatever happens after`);
  });
  if (p.reason) add('reason', `reason: ${p.reason}`);
  if (p.leftToUndo.length) add('left', `LEFT TO UNDO BY HAND: ${p.leftToUndo.join(', ')}`);
  // SETTLED_THEN_FAILED: what stands, what failed after it, and what is left for a person.
  const f = p.settledFailure;
  if (f) {
    add('stands', `the change stands: ${f.stands} (nothing before the point of no return was undone)`);
    add('failed-after', f.failedStep ? `then ${f.failedStep} failed: ${f.error}` : `then the run stopped: ${f.error}`);
    if (f.todo.length) add('todo', 'left for you:');
    f.todo.forEach((t, i) => add(`todo:${i}`, t, 2));
  }
  return out;
}

export function stepText(s: StepRecord, time = ''): string {
  const error = s.error ? ` (${s.error})` : '';
  const lost = s.lostWorkers
    ? `, run again after its worker was lost${s.lostWorkers > 1 ? ` ${s.lostWorkers} times` : ''}`
    : '';
  return `${MARK[s.status] ?? '-'} step ${s.name}: ${s.status}${changedNote(s)}${lost}${time}${error}`;
}

/** For steps that converge a host: whether they had to change it (a second provision says no everywhere). */
export function changedNote(s: { changed?: boolean; detail?: string }): string {
  if (s.changed === false) return ', unchanged';
  return s.changed && s.detail ? `, changed: ${s.detail}` : '';
}

export function approvalText(a: ApprovalRecord): string {
  const verb = a.refused ? `REFUSED ${a.decision ?? 'decision'}` : a.decision === 'approve' ? 'approved' : 'rejected';
  const comment = a.comment ? `: ${JSON.stringify(a.comment)}` : '';
  const key = a.key ? `, signed with ${a.key}` : '';
  const why = a.refused ? ` (${a.refused})` : '';
  return `${verb} by ${a.approver} at ${a.gate || '(no gate)'} ${a.at} via ${a.via}${key}${comment}${why}`;
}

function decisionText(d: FailureDecisionRecord): string {
  const verb = d.refused ? `REFUSED ${d.decision ?? 'decision'}` : d.decision;
  const comment = d.comment ? `: ${JSON.stringify(d.comment)}` : '';
  const key = d.key ? `, signed with ${d.key}` : '';
  const why = d.refused ? ` (${d.refused})` : '';
  return `${verb} by ${d.by} at ${d.step || '(no failure gate)'} ${d.at} via ${d.via}${key}${comment}${why}`;
}

/** Someone who may decide at the gate: a listed approver who did not start the run and has not decided yet. */
export function suggestedApprover(p: RunProgress, gate: GateRecord): string {
  const decided = new Set(p.approvals.filter((a) => a.gate === gate.name && !a.refused).map((a) => a.approver));
  return gate.approvers.find((a) => a !== p.initiator && !decided.has(a)) ?? '<approver>';
}

function gateHints(p: RunProgress, g: GateRecord, o: ViewOptions): string[] {
  const approved = p.approvals.filter((a) => a.gate === g.name && !a.refused && a.decision === 'approve').length;
  const count = `${approved}/${g.required} approvals so far`;
  if (o.decide === 'ui' && p.identity === 'signed') {
    const sign = `runbook sign approve ${o.runId} --as <you>`;
    const how = `run \`${sign}\` (or \`reject\` with \`--comment\`) and send its output as the signal \`approval\``;
    return [`${count}; decisions here are signed: ${how}`];
  }
  if (o.decide === 'ui') {
    const input = '{"approver": "<you>", "decision": "approve" | "reject", "comment": "..."}';
    return [`${count}; to decide, send the signal \`approval\` with \`${input}\``];
  }
  if (o.decide === 'none') return [count];
  const who = suggestedApprover(p, g);
  return [
    `approve: runbook approve ${o.runId} --as ${who} [--comment ...]`,
    `reject:  runbook reject ${o.runId} --as ${who} --comment <why>`,
    ...(o.url ? [`or in the Web UI: ${o.url} (Send a Signal "approval")`] : []),
  ];
}

/** The open failure gate: what failed, where, its output, and how to decide. [text, is output] pairs. */
function failureGateDetail(p: RunProgress, o: ViewOptions, g: FailureGateRecord): [string, boolean][] {
  const lines: [string, boolean][] = [[`FAILED: ${g.step}${g.host ? ` on ${g.host}` : ''}: ${g.error}`, false]];
  if (g.outputTail) {
    lines.push(
      ['output:', false],
      ...g.outputTail
        .trimEnd()
        .split('\n')
        .map((l): [string, boolean] => [l, true]),
    );
  }
  const noSkip = g.skippable ? [] : [`(${g.step} may not be skipped)`];
  if (o.decide === 'ui' && p.identity === 'signed') {
    const sign = `runbook sign retry|rollback${g.skippable ? '|skip' : ''} ${o.runId} --as <you>`;
    const how = `run \`${sign}\` and send its output as the signal \`failure-decision\``;
    lines.push([`decisions here are signed: ${how}`, false]);
  } else if (o.decide === 'ui') {
    const choices = g.skippable ? '"retry" | "rollback" | "skip"' : '"retry" | "rollback"';
    const input = `{"decision": ${choices}, "by": "<you>", "comment": "..."}`;
    lines.push([`to decide, send the signal \`failure-decision\` with \`${input}\``, false]);
  } else if (o.decide === 'cli') {
    const retry = `runbook retry ${o.runId} --as <approver> [--comment ...]`;
    lines.push([`to decide (an approver, not the initiator): ${retry}`, false]);
    lines.push([`or: runbook rollback ${o.runId} --as <approver> [--comment ...]`, false]);
    if (g.skippable) lines.push([`or: runbook skip ${o.runId} --as <approver> --comment <why>`, false]);
  }
  return [...lines, ...noSkip.map((t): [string, boolean] => [t, false])];
}

/**
 * How long something took, or (with `now`, for what may still run) has taken so far; with
 * `span`, when it started and ended. Without `now` a thing still running shows no duration,
 * so its line stays the same until it ends.
 */
function timeText(startedAt: string, endedAt: string | undefined, o: ViewOptions, live: boolean): string {
  const start = Date.parse(startedAt);
  if (o.times === 'span') {
    if (!endedAt) return `, from ${startedAt} (not ended)`;
    return `, ${startedAt} → ${endedAt} (${formatDuration(Date.parse(endedAt) - start)})`;
  }
  if (endedAt) return ` in ${formatDuration(Date.parse(endedAt) - start)}`;
  return live && o.now !== undefined ? ` for ${formatDuration(o.now - start)}` : '';
}
