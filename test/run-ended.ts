// How a test run ended: its result, and the failure it ended with. A run that fails carries its
// RunResult as the failure's first detail (workflows/kernel/runbook.ts); these read it back.
import assert from 'node:assert/strict';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../common/failure-types';
import type { RunResult } from '../common/shared';

type Run = WorkflowHandle | Promise<unknown>;

const outcome = (run: Run): Promise<unknown> => ('result' in run ? run.result() : run);

/** The run's result, and the failure it ended with (none when it completed). */
export async function ended(run: Run): Promise<{ result: RunResult; failure?: ApplicationFailure }> {
  try {
    return { result: (await outcome(run)) as RunResult };
  } catch (err) {
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure, String(err));
    return { result: err.cause.details?.[0] as RunResult, failure: err.cause };
  }
}

/** A run that must have failed (with `type`, when given): its failure and its result. */
export async function failed(
  run: Run,
  type?: FailureType,
): Promise<{ failure: ApplicationFailure; result: RunResult }> {
  const { result, failure } = await ended(run);
  assert.ok(failure, `the run should have failed; it ended ${result?.state}`);
  if (type) assert.equal(failure.type, type, failure.message);
  return { failure, result };
}

/** The result of a run that must have ended rolled back, every undo done (or failed with `type`). */
export async function compensated(run: Run, type: FailureType = FailureType.RunbookCompensated): Promise<RunResult> {
  return (await failed(run, type)).result;
}
