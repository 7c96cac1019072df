// The bench's own runbook workflows (bench/workflows.ts), made known to the worker's rules
// (activities/policy.ts) as the registry makes the real ones known: their runs decide their
// rules on the worker, as every run does, so the bench times that first step too.
import { registerExtraRunbook } from '../activities/policy';

registerExtraRunbook({
  name: 'bench',
  workflow: 'stepBench',
  description: 'the step-overhead bench: no-op steps through the kernel',
  mutating: false,
  protectedGates: [],
  params: { steps: { type: 'integer', min: 1, max: 100_000, required: true, description: 'how many no-op steps' } },
});

registerExtraRunbook({
  name: 'gate-bench',
  workflow: 'gateBench',
  description: 'the capacity bench: two no-op steps, then an approval gate',
  mutating: false,
  protectedGates: [],
  params: {},
});
