// The smoke runbook's steps: marker files under the state directory, one per run and step.
// Every execution is journaled, so a test can prove that no step ran twice.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityKinds } from '../../activities/registry';
import { stateDir } from '../../src/config';
import { FailureType } from '../../common/failure-types';

export interface MarkerInput {
  env: string;
  runId: string;
  step: string;
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function markerPaths({ env, runId, step }: MarkerInput) {
  for (const [what, value] of Object.entries({ env, runId, step })) {
    if (!SAFE_NAME.test(value) || value.includes('..')) {
      throw ApplicationFailure.nonRetryable(
        `unsafe ${what} for a file name: ${JSON.stringify(value)}`,
        FailureType.BadInput,
      );
    }
  }
  const dir = path.join(stateDir(), 'smoke', env);
  return { dir, marker: path.join(dir, `${runId}.${step}`), journal: path.join(dir, 'journal.log') };
}

async function journal(file: string, line: string): Promise<void> {
  await fs.appendFile(file, `${new Date().toISOString()} ${line}\n`);
}

/** Creates the step's marker; a second call for the same run and step changes nothing. */
export async function writeMarker(input: MarkerInput): Promise<{ changed: boolean }> {
  const { dir, marker, journal: log } = markerPaths(input);
  await fs.mkdir(dir, { recursive: true });
  await journal(log, `write ${input.runId} ${input.step}`);
  try {
    await fs.writeFile(marker, `${input.runId} ${input.step}\n`, { flag: 'wx' });
    return { changed: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { changed: false };
    throw err;
  }
}

/** Removes the step's marker; safe when it was never written. */
export async function removeMarker(input: MarkerInput): Promise<{ changed: boolean }> {
  const { dir, marker, journal: log } = markerPaths(input);
  await fs.mkdir(dir, { recursive: true });
  await journal(log, `remove ${input.runId} ${input.step}`);
  try {
    await fs.unlink(marker);
    return { changed: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { changed: false };
    throw err;
  }
}

/**
 * What each activity above does, for the registry (activities/registry.ts): the default export,
 * so the worker registers the named ones (`export *`) and never this.
 */
export default { writeMarker: 'acts', removeMarker: 'acts' } satisfies ActivityKinds;
