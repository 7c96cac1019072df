// What a dry run shows: the steps a run of the runbook would take here and now, as the run's own
// procedure walks them in plan mode on the worker (workflows/dry-run.ts). Imported by workflow
// code: types and pure functions only.
import type { Environment } from '../src/inventory';
import type { Role } from './roles';

/** A step as its definition describes it (the `plan` of rb.step). */
export interface PlannedStep {
  step: string;
  where: string;
  does: string;
  undo?: string;
  /** Why an approver may skip it at its failure gate; absent when it is never skipped. */
  skippable?: string;
  /** Whether the dry run ran it for real: a step that only reads. */
  ran?: boolean;
}

export interface PlannedGate {
  gate: string;
  approvers: string[];
  required: number;
}

/** A point of no return (rb.settle): the steps before it stand whatever happens after. */
export interface PlannedSettle {
  settles: string;
}

export type PlanItem = PlannedStep | PlannedGate | PlannedSettle;

/** What a step's plan text may read: the environment as the worker's inventory has it, secrets left out. */
export type PlanContext = Pick<Environment, 'environment' | 'protected' | 'hosts' | 'services' | 'vars'>;

/** How a step is shown in a plan; `standIn` is what the procedure goes on with when the step is not run. */
export interface StepPlan<T = unknown> {
  where: string;
  does: string;
  undo?: string;
  standIn?: T;
  /** A step that reads runs in a dry run too: what it found, said after `does` there. */
  found?(result: T): string;
}

/** A step's plan: written out, or made from the environment. */
export type StepPlanOf<T> = StepPlan<T> | ((env: PlanContext) => StepPlan<T>);

/** The hosts of `env` with `role`, in inventory order. */
export function hostsWithRole(env: Pick<PlanContext, 'hosts'>, role: Role): string[] {
  return Object.entries(env.hosts)
    .filter(([, h]) => h.roles.includes(role))
    .map(([name]) => name);
}

/** The first host of `env` with `role`, or a text saying there is none. */
export function hostWithRole(env: Pick<PlanContext, 'hosts'>, role: Role): string {
  return hostsWithRole(env, role)[0] ?? `(no ${role} host)`;
}

/** Hosts as a plan lists them: the first dozen by name, then how many more. */
export function hostList(hosts: string[]): string {
  return hosts.length > 12 ? `${hosts.slice(0, 12).join(', ')} and ${hosts.length - 12} more` : hosts.join(', ');
}

/** Where the environment's backups are kept, as a plan names it. */
export function backupStoreText(env: Pick<PlanContext, 'vars'>): string {
  const store = env.vars.backupStore;
  return store ? `${store.host}:${store.dir}` : '(no backupStore in the inventory)';
}

/** The result of a dry run. */
export interface DryRunResult {
  runbook: string;
  env: string;
  plan: PlanItem[];
  /** Why a real run would be refused now (a freeze window), if it would. */
  refusedNow?: string;
}

export const isGate = (item: PlanItem): item is PlannedGate => 'gate' in item;
export const isStep = (item: PlanItem): item is PlannedStep => 'step' in item;
