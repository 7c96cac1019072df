// smoke: its parameters (none), its steps' names and its definition. Workflow-safe: its
// workflow imports the step names from here.
import { defineParams } from '../../common/params';
import { defineRunbook, type RunbookSpec } from '../../common/runbook-definition';

export const SMOKE_PARAMS = defineParams({});

export const SMOKE_STEPS = { prepare: 'prepare', announce: 'announce', gate: 'go-ahead' } as const;

export const DEFINITIONS: RunbookSpec[] = [
  defineRunbook({
    name: 'smoke',
    workflow: 'smoke',
    description:
      'checks the engine end to end: holds the environment, two marker steps on the worker, ' +
      'an approval gate, undo on rejection',
    mutating: true,
    params: SMOKE_PARAMS,
    protectedGates: [SMOKE_STEPS.gate],
  }),
];
