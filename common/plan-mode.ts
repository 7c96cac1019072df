// The workflow type of a dry run, and how its executions are named: the worker tells a dry run
// from a run by these, never by anything in the input.

export const DRY_RUN_WORKFLOW = 'dryRun';

/**
 * Every dry run's workflow id starts with this, and no run's may: a start signed for a dry run
 * proves a dry run only, so it cannot be replayed as a run of the same id.
 */
export const DRY_RUN_ID_PREFIX = 'dry-run-';
