// dryRun: a runbook's own procedure walked in plan mode on the worker (kernel/plan.ts), so the
// plan shows the gates, undos, skippable steps and points of no return the worker would apply
// here and now. Steps that only read run; steps that act are recorded, never run.
import { ApplicationFailure } from '@temporalio/workflow';
import type { DryRunResult } from '../common/plan';
import type { RunInput, RunResult } from '../common/shared';
import { FailureType } from '../common/failure-types';
import * as folderWorkflows from '../runbooks/workflows.generated';
import { FOLDER_RUNBOOKS } from '../runbooks/definitions.generated';
import { deploy } from './deploy';
import { migrateThenCode } from './migrate-then-code';
import { provision } from './provision';
import { restore } from './restore';
import { restorePrevious, dropPrevious } from './previous-database';
import { rotateDbPassword } from './rotate-db-password';
import { healthCheck } from './health-check';
import { rollingDeploy } from './rolling-deploy';
import { runCommandOnFleet } from './run-command';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each takes its own parameters
type Procedure = (input: RunInput<any>) => Promise<RunResult>;

/** Each runbook's workflow, by the runbook's name (the worker checks the name in decideRunRules). */
const PROCEDURES: Record<string, Procedure> = {
  // The runbooks in folders: each definition names its workflow.
  ...Object.fromEntries(
    FOLDER_RUNBOOKS.map((r) => [r.name, (folderWorkflows as Record<string, Procedure>)[r.workflow]]),
  ),
  deploy,
  'migrate-then-code': migrateThenCode,
  provision,
  restore,
  'restore-previous': restorePrevious,
  'drop-previous': dropPrevious,
  'rotate-db-password': rotateDbPassword,
  'health-check': healthCheck,
  'rolling-deploy': rollingDeploy,
  'run-command': runCommandOnFleet,
};

export async function dryRun(input: RunInput): Promise<DryRunResult> {
  const name = typeof input === 'object' && input !== null ? String(input.runbook) : '';
  const procedure = Object.hasOwn(PROCEDURES, name) ? PROCEDURES[name] : undefined;
  if (!procedure)
    throw ApplicationFailure.create({
      type: FailureType.BadInput,
      message: `refused: no runbook ${JSON.stringify(name.slice(0, 100))} to plan`,
      nonRetryable: true,
    });
  return (await procedure(input)).dryRun!;
}
