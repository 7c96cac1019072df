// What a runbook folder gives the workflow tier (runbooks/<name>/stubs.ts): a stand-in for each
// of its activities, the parameters its runs are started with, and how a test sees that a run
// acted. The shared suites (workflow plans, four eyes, the failure matrix) read every folder's.
import type { ActivityCall } from './plan-facts';

export type ParamsGiven = Record<string, string | boolean | string[]>;

/** A stand-in for each activity a module exports (its default export, the kinds, is none). */
export type StubsOf<M> = {
  [K in keyof M as K extends 'default' ? never : K]: M[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : never;
};

export interface RunbookStubs<M> {
  stubs: StubsOf<M>;
  /** By runbook name: what a run is started with; every optional path that adds steps or gates taken. */
  params: Record<string, ParamsGiven>;
  /** By runbook name, on a protected environment: whatever could skip a gate asked (default: params). */
  protectedParams?: Record<string, ParamsGiven>;
  /** By runbook name: whether a run has done what its gate guards (a stub that changes something called). */
  acted: Record<string, (calls: ActivityCall[]) => boolean>;
}

/** A folder's stand-ins, typed by its activities module. */
export function runbookStubs<M>(stubs: RunbookStubs<M>): RunbookStubs<M> {
  return stubs;
}

export const called = (calls: ActivityCall[], type: string): boolean => calls.some((c) => c.type === type);
