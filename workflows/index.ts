// Every workflow the worker registers: one file per runbook, and the environment lock. The
// runbooks in folders of their own (runbooks/index.ts) come as generated from their index.
export * from '../runbooks/workflows.generated';
export { deploy } from './deploy';
export { migrateThenCode } from './migrate-then-code';
export { environmentLock } from './kernel/lock';
export { notice } from './kernel/notice';
export { provision } from './provision';
export { restore } from './restore';
export { restorePrevious, dropPrevious } from './previous-database';
export { rotateDbPassword } from './rotate-db-password';
export { healthCheck } from './health-check';
export { scheduledRun } from './scheduled-run';
// Pinned or auto-upgrade per runbook, for versioned workers.
import './versioning';
export { rollingDeploy } from './rolling-deploy';
export { rollingBatch } from './rolling-batch';
export { runCommandOnFleet } from './run-command';
export { commandBatch } from './command-batch';
// Any runbook above in plan mode: what `runbook start --dry-run` shows.
export { dryRun } from './dry-run';
