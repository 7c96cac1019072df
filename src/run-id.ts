// Run ids name the runbook, the environment and the start time, so `runbook list` reads well
// and a run id alone tells an operator what it was.
import { randomBytes } from 'node:crypto';

export function newRunId(runbook: string, env: string, at = new Date()): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${runbook}-${env}-${stamp}-${randomBytes(2).toString('hex')}`;
}

export const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
