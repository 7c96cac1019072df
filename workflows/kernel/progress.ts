// The run's audit record: what the progress query returns and what the run ends with.
import { setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import {
  maskSecrets,
  RunbookEnvKey,
  RunbookNameKey,
  RunbookStateKey,
  type FailureGateRecord,
  type RunInput,
  type RunProgress,
  type RunState,
} from '../../common/shared';

export function newProgress(input: RunInput): RunProgress {
  return {
    runbook: input.runbook,
    env: input.env,
    params: maskSecrets(input.params),
    initiator: input.initiator,
    state: 'RUNNING',
    steps: [],
    gates: [],
    approvals: [],
    compensations: [],
    leftToUndo: [],
    settled: [],
  };
}

export function setState(progress: RunProgress, state: RunState): void {
  progress.state = state;
  upsertSearchAttributes([{ key: RunbookStateKey, value: state }]);
  showProgress(progress);
}

const MARK: Record<string, string> = {
  running: '▶', done: '✓', failed: '✗', skipped: '⤼', compensating: '↺', compensated: '↩', compensation_failed: '⚠',
};

/** The run as the Web UI shows it ("current details"): steps, the open gate and how to decide it. */
export function showProgress(p: RunProgress): void {
  const lines = [`**${p.runbook}** on **${p.env}**, started by ${p.initiator}: **${p.state}**`, ''];
  for (const s of p.steps) lines.push(`- ${MARK[s.status] ?? ''} ${s.name}: ${s.status}${s.error ? ` (${s.error})` : ''}`);
  if (p.gate) {
    const approved = p.approvals.filter((a) => a.gate === p.gate!.name && !a.refused && a.decision === 'approve').length;
    lines.push(`- ⏸ gate **${p.gate.name}**: ${approved}/${p.gate.required} approvals from ${p.gate.approvers.join(', ')}, until ${p.gate.deadline}`);
    if (p.identity === 'signed') {
      lines.push('', `Decisions here are signed: run \`runbook sign approve ${workflowInfo().workflowId} --as <you>\` (or \`reject\` with \`--comment\`) and send its output as the signal \`approval\`.`);
    } else lines.push('', 'To decide, send the signal `approval` with `{"approver": "<you>", "decision": "approve" | "reject", "comment": "..."}`.');
  }
  if (p.failureGate) lines.push(...failureGateLines(p.failureGate, p.identity === 'signed'));
  for (const c of p.compensations) lines.push(`- undo ${c.step}: ${c.status}${c.error ? ` (${c.error})` : ''}`);
  if (p.leftToUndo.length) lines.push('', `**Left to undo by hand:** ${p.leftToUndo.join(', ')}`);
  if (p.reason) lines.push('', `Reason: ${p.reason}`);
  setCurrentDetails(lines.join('\n'));
}

/** Search attributes a run carries from its first task, so the UI and `runbook list` can filter. */
export function tagRun(input: RunInput): void {
  upsertSearchAttributes([
    { key: RunbookNameKey, value: input.runbook },
    { key: RunbookEnvKey, value: input.env },
    { key: RunbookStateKey, value: 'RUNNING' },
  ]);
}

function failureGateLines(g: FailureGateRecord, signed: boolean): string[] {
  const choices = g.skippable ? '"retry" | "rollback" | "skip"' : '"retry" | "rollback"';
  return [
    `- ⏸ failure gate at **${g.step}**${g.host ? ` on ${g.host}` : ''}: rolls back at ${g.deadline} unless decided`,
    `  - error: ${g.error}`,
    ...(g.outputTail ? ['', '```', g.outputTail.trimEnd(), '```'] : []),
    '',
    signed
      ? `Decisions here are signed: run \`runbook sign retry|rollback|skip ${workflowInfo().workflowId} --as <you>\` and send its output as the signal \`failure-decision\`.`
      : `To decide, send the signal \`failure-decision\` with \`{"decision": ${choices}, "by": "<you>", "comment": "..."}\`${g.skippable ? '' : ` (${g.step} may not be skipped)`}.`,
  ];
}

export function now(): string {
  // Date is replay-safe inside the workflow sandbox.
  return new Date().toISOString();
}
