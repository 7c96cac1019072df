// The tests' own runbook workflows (test/workflows.ts), made known to the worker's rules
// (activities/policy.ts) as the registry makes the real ones known. Loaded by test/helpers.ts
// for in-process workers, and with `node -r` by test/worker-process.ts for worker processes.
import { registerExtraRunbook } from '../activities/policy';
import { admitTestDrivers } from '../worker/activity-boundary';

// The workflows that drive activities directly from the bed tests, to set a host up or look at it.
admitTestDrivers('commandOnHosts', 'longCommand');

registerExtraRunbook({
  name: 'three-steps',
  workflow: 'threeSteps',
  description: 'the kernel test runbook: three steps on three test-bed hosts (read-only as far as the lock goes)',
  mutating: false,
  protectedGates: [],
  params: {
    failAt: { type: 'string', description: 'the step that fails' },
    failUndoAt: { type: 'string', description: 'the step whose undo fails' },
    stepSeconds: { type: 'number', min: 0, max: 3600, description: 'how long each step sleeps' },
    asProduction: {
      type: 'boolean',
      description: "the kernel's own retry and heartbeat options, as production steps have (the cluster tests)",
    },
    settleAfter: { type: 'string', description: 'the step after which the run passes its point of no return' },
    // The history test passes a secret-looking parameter, to see it masked.
    apiToken: { type: 'string', description: 'a parameter whose name says secret' },
  },
});
