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
  params: [
    { name: 'failAt', description: 'the step that fails' },
    { name: 'failUndoAt', description: 'the step whose undo fails' },
    { name: 'stepSeconds', description: 'how long each step sleeps' },
    {
      name: 'asProduction',
      description: "the kernel's own retry and heartbeat options, as production steps have (the cluster tests)",
      boolean: true,
    },
    { name: 'settleAfter', description: 'the step after which the run passes its point of no return' },
    // The history test passes a secret-looking parameter, to see it masked.
    { name: 'apiToken', description: 'a parameter whose name says secret' },
  ],
  plan: () => [],
});
