// What each runbook is started with in the workflow tier, against stub activities: every
// optional path that adds steps or gates is taken (test/workflow-plans.workflow.test.ts,
// test/failure-matrix.workflow.test.ts).
import { RUNBOOK_STUBS } from '../runbooks/stubs.generated';
import type { ParamsGiven } from './runbook-stubs';

export const STUB_PARAMS: Record<string, ParamsGiven> = {
  // Each runbook folder's own (runbooks/<name>/stubs.ts).
  ...Object.assign({}, ...Object.values(RUNBOOK_STUBS).map((r) => r.params)),
  deploy: { ref: 'v1.0.0', gate: true, 'rollback-window': '1s' },
  'migrate-then-code': { ref: 'v1.0.0', gate: true, 'rollback-window': '1s' },
  provision: { host: 'fresh' },
  restore: {},
  'restore-previous': { database: 'runbook_previous_0123456789ab' },
  'drop-previous': { database: 'runbook_previous_0123456789ab' },
  'health-check': {},
  'rotate-db-password': { secret: 'dbPassword' },
  'rolling-deploy': {
    ref: 'v1.0.0',
    batches: '1,25%,100%',
    'max-failures': '0',
    gate: true,
    analysis: 'error-rate,canary',
  },
  'run-command': { hosts: 'role:web', batch: '1', argv: ['true'] },
};
