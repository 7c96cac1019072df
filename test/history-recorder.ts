// With RUNBOOK_RECORD_HISTORIES=1, tests save the histories of the runs they finish into
// test/histories/, which the replay test runs against the current workflow code.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { WorkflowHandle } from '@temporalio/client';
import { projectRoot } from '../src/config';
import { temporalCliPath } from '../src/dev-server';

export const HISTORIES_DIR = path.join(projectRoot, 'test', 'histories');

export async function recordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.RUNBOOK_RECORD_HISTORIES !== '1') return;
  // The CLI writes the same proto JSON the Web UI downloads, which historyFromJSON reads.
  const json = execFileSync(temporalCliPath()!, ['workflow', 'show', '--workflow-id', handle.workflowId, '--address', process.env.TEMPORAL_ADDRESS!, '--output', 'json'], { encoding: 'utf8' });
  fs.mkdirSync(HISTORIES_DIR, { recursive: true });
  fs.writeFileSync(path.join(HISTORIES_DIR, `${name}.json`), json);
}
