// The runbooks kept in folders of their own (runbooks/<name>/: definition.ts, workflow.ts,
// activities.ts, stubs.ts and tests), one line each: `runbook new <name>` adds one. `npm run docs`
// generates from this list what the worker, the workflow bundle, the CLI and the tests import
// (runbooks/*.generated.ts), and a fast test fails when those are stale. Workflow-safe.
// prettier-ignore
export const RUNBOOK_FOLDERS = [
  'smoke',
  'backup',
  'renew-certificate',
] as const;
