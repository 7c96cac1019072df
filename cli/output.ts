// How the CLI prints: JSON with --json (one object per command), plain lines otherwise.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { changedNote } from './render';
import type { RunProgress } from '../common/shared';
import { failureGateLines } from './failure-gate-lines';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function uiUrl(): string {
  return (process.env.RUNBOOK_UI_URL || 'http://localhost:8233').replace(/\/$/, '');
}

export function runUrl(namespace: string, runId: string): string {
  return `${uiUrl()}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(runId)}`;
}

export function formatProgress(runId: string, p: RunProgress): string {
  const lines = [`${runId}: ${p.runbook} on ${p.env}, started by ${p.initiator}: ${p.state}`];
  if (p.reason) lines.push(`  reason: ${p.reason}`);
  for (const s of p.steps) lines.push(`  step ${s.name}: ${s.status}${changedNote(s)}${s.error ? ` (${s.error})` : ''}`);
  for (const g of p.gates) {
    lines.push(`  gate ${g.name}: ${g.outcome ?? `waiting for ${g.required} of ${g.approvers.join(', ')} until ${g.deadline}`}`);
  }
  for (const a of p.approvals) {
    lines.push(`  ${a.refused ? 'refused' : a.decision} by ${a.approver} at ${a.at} via ${a.via}${a.comment ? `: ${a.comment}` : ''}${a.refused ? ` (${a.refused})` : ''}`);
  }
  for (const c of p.compensations) lines.push(`  undo ${c.step}: ${c.status}${c.error ? ` (${c.error})` : ''}`);
  if (p.leftToUndo.length) lines.push(`  LEFT TO UNDO BY HAND: ${p.leftToUndo.join(', ')}`);
  lines.push(...failureGateLines(runId, p));
  if (p.gate) {
    lines.push(`  to decide: runbook approve ${runId} --as <approver> [--comment ...]  |  runbook reject ${runId} --as <approver> --comment <why>`);
  }
  return lines.join('\n');
}

/** An update the run's validator refused (approve, reject, a failure-gate decision): exit 1 with why; anything else is rethrown. */
export function refusedUpdate(runId: string, err: unknown, json: boolean): number {
  if (!(err instanceof WorkflowUpdateFailedError)) throw err;
  const why = err.cause?.message ?? err.message;
  if (json) printJson({ runId, refused: why });
  else console.error(`refused: ${why}`);
  return 1;
}
