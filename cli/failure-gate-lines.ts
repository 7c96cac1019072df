// How `runbook status` shows failure gates: each one's outcome and decisions, and for the open
// one the failed step, host, error, output tail and the exact commands to decide it.
import type { FailureGateRecord, RunProgress } from '../common/shared';
import { failureDecisionText } from './render';

/** What `runbook status` shows of failure gates: each one's outcome, and how to decide the open one. */
export function failureGateLines(runId: string, p: RunProgress): string[] {
  const lines: string[] = [];
  for (const g of p.failureGates ?? []) {
    lines.push(`  failure gate at ${g.step}: ${g.outcome ?? `waiting for a decision until ${g.deadline} (then rolls back)`}`);
    for (const d of g.decisions) lines.push(`    ${failureDecisionText(d)}`);
  }
  for (const d of p.strayDecisions ?? []) lines.push(`  refused ${d.decision} by ${d.by} at ${d.at} via ${d.via} (${d.refused})`);
  if (p.failureGate) lines.push(...openGateLines(runId, p.failureGate));
  return lines;
}

function openGateLines(runId: string, g: FailureGateRecord): string[] {
  const lines = [`  FAILED: ${g.step}${g.host ? ` on ${g.host}` : ''}: ${g.error}`];
  if (g.outputTail) lines.push('  output:', ...g.outputTail.trimEnd().split('\n').map((l) => `    | ${l}`));
  lines.push(`  to decide (an approver, not the initiator): runbook retry ${runId} --as <approver> [--comment ...]`);
  lines.push(`                                             runbook rollback ${runId} --as <approver> [--comment ...]`);
  if (g.skippable) lines.push(`                                             runbook skip ${runId} --as <approver> --comment <why>`);
  else lines.push(`  (${g.step} may not be skipped)`);
  return lines;
}
