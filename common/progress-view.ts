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
  AlarmRecord,
  FreezeRecord,
  GateRecord,
  RunProgress,
  StepRecord,
} from './shared';
import { hostLines } from './host-lines';
import { inertText, markdownCode, markdownFence, markdownText } from './inert';

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

/**
 * How a view shows what came from outside the engine (names, comments, errors, a host's output):
 * inert on a terminal, and escaped in Markdown besides (common/inert.ts).
 */
export interface Show {
  /** A value inside a line. */
  text(value: unknown): string;
  /** A command or message to copy, shown as code. */
  code(value: string): string;
}

export const TERMINAL: Show = { text: (v) => inertText(v), code: (v) => `\`${inertText(v)}\`` };
export const MARKDOWN: Show = { text: markdownText, code: markdownCode };

/** The run as lines of plain text, indented: for `status`, `watch` and `history`. */
export function progressLines(p: RunProgress, options: ViewOptions): Line[] {
  return items(p, options, TERMINAL).map(({ key, text, depth, code }) => {
    const indent = '  '.repeat(depth);
    return { key, text: code ? `${indent}  | ${inertText(text, true)}` : `${indent}${text}` };
  });
}

/** The run as Markdown: the Web UI's current details. */
export function progressMarkdown(p: RunProgress, options: ViewOptions): string {
  const out: string[] = [];
  const all = items(p, options, MARKDOWN);
  // Longer than any run of backticks in the output, so no line of it can close its block.
  const fence = markdownFence(all.filter((i) => i.code).map((i) => i.text));
  let inCode = false;
  for (const { text, depth, code } of all) {
    // A fence opens before the first line of output and closes after its last.
    if (Boolean(code) !== inCode) out.push(fence);
    inCode = Boolean(code);
    out.push(code ? inertText(text, true) : depth === 0 ? `**${text}**` : `${depth === 2 ? '  ' : ''}- ${text}`);
  }
  if (inCode) out.push(fence);
  return out.join('\n');
}

function items(p: RunProgress, o: ViewOptions, show: Show): Item[] {
  const v = show.text;
  const header = `${v(o.runId)}: ${v(p.runbook)} on ${v(p.env)}, started by ${v(p.initiator)}: ${p.state}`;
  const out: Item[] = [{ key: 'state', text: header, depth: 0 }];
  const add = (key: string, text: string, depth: 1 | 2 = 1, code = false) => out.push({ key, text, depth, code });
  const time = (startedAt: string, endedAt: string | undefined, live = true) => timeText(startedAt, endedAt, o, live);

  if (p.freeze) add('freeze', freezeText(p.freeze, show));
  if (p.freezeBegan) add('freeze-began', `${freezeText(p.freezeBegan, show)} (during the run)`);
  (p.alarms ?? []).forEach((a, i) => add(`alarm:${i}`, alarmText(a, show)));
  p.steps.forEach((s, i) => add(`step:${i}`, stepText(s, time(s.startedAt, s.endedAt), show)));
  p.gates.forEach((g, i) => {
    const approvers = g.approvers.map(v).join(', ');
    if (g.outcome) {
      // The audit trail also says who could decide and whether they were told.
      const notice = g.notified ? `; notice ${v(g.notified)}` : '';
      const audit = o.times === 'span' ? `; ${v(g.required)} of ${approvers}${notice}` : '';
      const took = time(g.openedAt, g.closedAt, false);
      add(`gate:${i}`, `${MARK[g.outcome] ?? '-'} gate ${v(g.name)}: ${v(g.outcome)}${took}${audit}`);
      return;
    }
    const from = `${v(g.required)} approval(s) from ${approvers}`;
    add(`gate:${i}`, `${MARK.open} gate ${v(g.name)}: waiting for ${from} until ${v(g.deadline)}`);
    if (p.gate?.name === g.name) gateHints(p, g, o, show).forEach((text, j) => add(`gate:${i}:${j}`, text, 2));
  });
  p.approvals.forEach((a, i) => add(`approval:${i}`, `${a.refused ? '!' : '·'} ${approvalText(a, show)}`));
  (p.failureGates ?? []).forEach((g, i) => {
    const outcome = g.outcome ? v(g.outcome) : `waiting for a decision until ${v(g.deadline)} (then rolls back)`;
    const when = o.times === 'span' ? time(g.openedAt, g.closedAt, false) : '';
    add(`failure:${i}`, `${g.outcome ? '·' : MARK.open} failure gate at ${v(g.step)}: ${outcome}${when}`);
    g.decisions.forEach((d, j) => add(`failure:${i}:${j}`, decisionText(d, show), 2));
    if (!g.outcome && p.failureGate?.openedAt === g.openedAt) {
      failureGateDetail(p, o, g, show).forEach(([text, code], j) => add(`failure:${i}:open:${j}`, text, 2, code));
    }
  });
  (p.strayDecisions ?? []).forEach((d, i) => add(`stray:${i}`, decisionText(d, show)));
  p.compensations.forEach((c, i) => {
    const error = c.error ? ` (${v(c.error)})` : '';
    add(`undo:${i}`, `${MARK.compensating} undo ${v(c.step)}: ${v(c.status)}${time(c.startedAt, c.endedAt)}${error}`);
  });
  // Fleet runbooks: what became of each host (every one in the audit trail, with its output).
  hostLines(p, o.times === 'span', v).forEach((text, i) => add(`hosts:${i}`, text.trimStart(), i === 0 ? 1 : 2));
  p.settled.forEach((k, i) => {
    const at = o.times === 'span' ? ` at ${v(k.at)}` : '';
    const kept = k.steps.map(v).join(', ') || '(nothing)';
    add(`settled:${i}`, `settled${at} (${v(k.why)}): ${kept} kept whatever happens after`);
  });
  if (p.reason) add('reason', `reason: ${v(p.reason)}`);
  if (p.leftToUndo.length) add('left', `LEFT TO UNDO BY HAND: ${p.leftToUndo.map(v).join(', ')}`);
  // SETTLED_THEN_FAILED: what stands, what failed after it, and what is left for a person.
  const f = p.settledFailure;
  if (f) {
    add('stands', `the change stands: ${v(f.stands)} (nothing before the point of no return was undone)`);
    const error = v(f.error);
    add('failed-after', f.failedStep ? `then ${v(f.failedStep)} failed: ${error}` : `then the run stopped: ${error}`);
    if (f.todo.length) add('todo', 'left for you:');
    f.todo.forEach((t, i) => add(`todo:${i}`, v(t), 2));
  }
  return out;
}

/** A freeze window that held the run at its start, and how the run got past it (or waits to). */
/** An alarm that fired during the run: its name, the value that fired it, and what became of the run. */
export function alarmText(a: AlarmRecord, show: Show = TERMINAL): string {
  const v = show.text;
  const outcome =
    a.outcome === 'went-on'
      ? `went on${a.approvedBy?.length ? ` (break glass: approved by ${a.approvedBy.map(v).join(', ')})` : ''}`
      : a.outcome === 'retried'
        ? 'read again'
        : a.outcome === 'undone'
          ? 'undone'
          : 'waiting for a decision';
  return `! alarm ${v(a.alarm)} fired (${v(a.value)}) before ${v(a.before)}: ${outcome}`;
}

export function freezeText(f: FreezeRecord, show: Show = TERMINAL): string {
  const v = show.text;
  const opens = f.opensAtLocal ?? f.opensAt;
  const window = `freeze window ${v(f.window)}${opens ? ` (opens ${v(opens)})` : ''}`;
  if (f.then === 'break-glass') {
    const by = f.approvedBy?.length
      ? `approved by ${f.approvedBy.map(v).join(', ')}`
      : 'waiting for two signed approvals';
    return `! break glass at ${window}: ${v(f.reason ?? '')}; ${by}`;
  }
  return f.wentOnAt
    ? `· waited for ${window}; went on at ${v(f.wentOnAt)}`
    : `${MARK.open} waits for ${window} to open`;
}

export function stepText(s: StepRecord, time = '', show: Show = TERMINAL): string {
  const v = show.text;
  const error = s.error ? ` (${v(s.error)})` : '';
  const lost = s.lostWorkers
    ? `, run again after its worker was lost${s.lostWorkers > 1 ? ` ${v(s.lostWorkers)} times` : ''}`
    : '';
  return `${MARK[s.status] ?? '-'} step ${v(s.name)}: ${v(s.status)}${changedNote(s, show)}${lost}${time}${error}`;
}

/** For steps that converge a host: whether they had to change it (a second provision says no everywhere). */
export function changedNote(s: { changed?: boolean; detail?: string }, show: Show = TERMINAL): string {
  if (s.changed === false) return ', unchanged';
  return s.changed && s.detail ? `, changed: ${show.text(s.detail)}` : '';
}

export function approvalText(a: ApprovalRecord, show: Show = TERMINAL): string {
  const v = show.text;
  const verb = a.refused
    ? `REFUSED ${v(a.decision ?? 'decision')}`
    : a.decision === 'approve'
      ? 'approved'
      : 'rejected';
  const comment = a.comment ? `: ${v(JSON.stringify(a.comment))}` : '';
  const key = a.key ? `, signed with ${v(a.key)}` : '';
  const why = a.refused ? ` (${v(a.refused)})` : '';
  const gate = a.gate ? v(a.gate) : '(no gate)';
  return `${verb} by ${v(a.approver)} at ${gate} ${v(a.at)} via ${v(a.via)}${key}${comment}${why}`;
}

function decisionText(d: FailureDecisionRecord, show: Show): string {
  const v = show.text;
  const verb = v(d.refused ? `REFUSED ${d.decision ?? 'decision'}` : d.decision);
  const comment = d.comment ? `: ${v(JSON.stringify(d.comment))}` : '';
  const key = d.key ? `, signed with ${v(d.key)}` : '';
  const why = d.refused ? ` (${v(d.refused)})` : '';
  const step = d.step ? v(d.step) : '(no failure gate)';
  return `${verb} by ${v(d.by)} at ${step} ${v(d.at)} via ${v(d.via)}${key}${comment}${why}`;
}

/** Someone who may decide at the gate: a listed approver who did not start the run and has not decided yet. */
export function suggestedApprover(p: RunProgress, gate: GateRecord): string {
  const decided = new Set(p.approvals.filter((a) => a.gate === gate.name && !a.refused).map((a) => a.approver));
  return gate.approvers.find((a) => a !== p.initiator && !decided.has(a)) ?? '<approver>';
}

function gateHints(p: RunProgress, g: GateRecord, o: ViewOptions, show: Show): string[] {
  const approved = p.approvals.filter((a) => a.gate === g.name && !a.refused && a.decision === 'approve').length;
  const count = `${approved}/${show.text(g.required)} approvals so far`;
  if (o.decide === 'ui' && p.identity === 'signed') {
    const sign = show.code(`runbook sign approve ${o.runId} --as <you>`);
    const how = `run ${sign} (or \`reject\` with \`--comment\`) and send its output as the signal \`approval\``;
    return [`${count}; decisions here are signed: ${how}`];
  }
  if (o.decide === 'ui') {
    const input = '{"approver": "<you>", "decision": "approve" | "reject", "comment": "..."}';
    return [`${count}; to decide, send the signal \`approval\` with \`${input}\``];
  }
  if (o.decide === 'none') return [count];
  const who = show.text(suggestedApprover(p, g));
  const runId = show.text(o.runId);
  return [
    `approve: runbook approve ${runId} --as ${who} [--comment ...]`,
    `reject:  runbook reject ${runId} --as ${who} --comment <why>`,
    ...(o.url ? [`or in the Web UI: ${show.text(o.url)} (Send a Signal "approval")`] : []),
  ];
}

/** The open failure gate: what failed, where, its output, and how to decide. [text, is output] pairs. */
function failureGateDetail(p: RunProgress, o: ViewOptions, g: FailureGateRecord, show: Show): [string, boolean][] {
  const v = show.text;
  const where = g.host ? ` on ${v(g.host)}` : '';
  const lines: [string, boolean][] = [[`FAILED: ${v(g.step)}${where}: ${v(g.error)}`, false]];
  if (g.outputTail) {
    // Output lines are the view's to make inert (and, in Markdown, to fence): kept as the command wrote them.
    lines.push(
      ['output:', false],
      ...g.outputTail
        .trimEnd()
        .split('\n')
        .map((l): [string, boolean] => [l, true]),
    );
  }
  const noSkip = g.skippable ? [] : [`(${v(g.step)} may not be skipped)`];
  const runId = v(o.runId);
  if (o.decide === 'ui' && p.identity === 'signed') {
    const sign = show.code(`runbook sign retry|rollback${g.skippable ? '|skip' : ''} ${o.runId} --as <you>`);
    const how = `run ${sign} and send its output as the signal \`failure-decision\``;
    lines.push([`decisions here are signed: ${how}`, false]);
  } else if (o.decide === 'ui') {
    const choices = g.skippable ? '"retry" | "rollback" | "skip"' : '"retry" | "rollback"';
    const input = `{"decision": ${choices}, "by": "<you>", "comment": "..."}`;
    lines.push([`to decide, send the signal \`failure-decision\` with \`${input}\``, false]);
  } else if (o.decide === 'cli') {
    const retry = `runbook retry ${runId} --as <approver> [--comment ...]`;
    lines.push([`to decide (an approver, not the initiator): ${retry}`, false]);
    lines.push([`or: runbook rollback ${runId} --as <approver> [--comment ...]`, false]);
    if (g.skippable) lines.push([`or: runbook skip ${runId} --as <approver> --comment <why>`, false]);
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
    if (!endedAt) return `, from ${inertText(startedAt)} (not ended)`;
    return `, ${inertText(startedAt)} → ${inertText(endedAt)} (${formatDuration(Date.parse(endedAt) - start)})`;
  }
  if (endedAt) return ` in ${formatDuration(Date.parse(endedAt) - start)}`;
  return live && o.now !== undefined ? ` for ${formatDuration(o.now - start)}` : '';
}
