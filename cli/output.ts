// How the CLI prints: JSON with --json (one object per command), plain lines otherwise.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { RunProgress } from '../common/shared';
import { progressLines } from '../common/progress-view';
import { inertText } from '../common/inert';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function uiUrl(): string {
  return (process.env.RUNBOOK_UI_URL || 'http://localhost:8233').replace(/\/$/, '');
}

/** The list filter that shows runbook runs only, not the environment locks and schedule firings beside them. */
export const RUNS_ONLY_QUERY = 'RunbookName IS NOT NULL';

/** The Web UI's workflow list, filtered to runs. */
export function runsUrl(namespace: string, base = uiUrl()): string {
  return (
    `${base.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}` +
    `/workflows?query=${encodeURIComponent(RUNS_ONLY_QUERY)}`
  );
}

export function runUrl(namespace: string, runId: string): string {
  return `${uiUrl()}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(runId)}`;
}

/** `runbook status`: the run as it stands, with the commands that decide an open gate. */
export function formatProgress(runId: string, p: RunProgress, url?: string): string {
  return progressLines(p, { runId, decide: 'cli', url })
    .map((l) => l.text)
    .join('\n');
}

/**
 * An update the run's validator refused (approve, reject, a failure-gate decision): exit 1 with
 * why; anything else is rethrown.
 */
export function refusedUpdate(runId: string, err: unknown, json: boolean): number {
  if (!(err instanceof WorkflowUpdateFailedError)) throw err;
  const why = err.cause?.message ?? err.message;
  if (json) printJson({ runId, refused: why });
  else console.error(`refused: ${inertText(why)}`);
  return 1;
}
