// The runbooks an operator can start: their parameters, whether they change an environment,
// and the plan a dry run prints. The CLI validates against this before anything runs.
import type { Environment } from './inventory';

export interface ParamSpec {
  name: string;
  description: string;
  required?: boolean;
  boolean?: boolean;
  /** What a valid value looks like; anything else is refused before the run starts. */
  pattern?: RegExp;
}

export interface PlannedStep {
  step: string;
  where: string;
  does: string;
  undo?: string;
}

export type PlanItem = PlannedStep | { gate: string; approvers: string[]; required: number };

export interface RunbookSpec {
  name: string;
  /** The workflow function's name in workflows/index.ts. */
  workflow: string;
  description: string;
  mutating: boolean;
  params: ParamSpec[];
  plan(env: Environment, params: Record<string, unknown>): PlanItem[];
}

export const RUNBOOKS: RunbookSpec[] = [
  {
    name: 'smoke',
    workflow: 'smoke',
    description: 'checks the engine end to end: holds the environment, two marker steps on the worker, an approval gate, undo on rejection',
    mutating: true,
    params: [],
    plan: (env) => [
      { step: 'prepare', where: 'worker', does: 'write the prepare marker', undo: 'remove the prepare marker' },
      { step: 'announce', where: 'worker', does: 'write the announce marker', undo: 'remove the announce marker' },
      { gate: 'go-ahead', approvers: env.approvals.approvers, required: env.approvals.required },
    ],
  },
];

export function findRunbook(name: string): RunbookSpec | undefined {
  return RUNBOOKS.find((r) => r.name === name);
}
