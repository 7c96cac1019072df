// What a runbook's definition is (runbooks/<name>/definition.ts, and src/runbooks.ts for those
// not yet in a folder): its name, workflow, parameters, whether it changes the environment, the
// gates four eyes needs and its checks. Imported by workflow code (a definition holds the step
// names its workflow uses): no Node built-ins, no I/O; the inventory is a type here only.
import type { Environment } from '../src/inventory';
import { paramValues, type ParamDecls, type ParamsOf, type ValuesOf } from './params';

/** A runbook as its definition is written: its parameters' types reach check and bounds. */
export interface RunbookDefinition<D extends ParamDecls> {
  name: string;
  /** The workflow function's name (the Temporal workflow type). */
  workflow: string;
  description: string;
  mutating: boolean;
  /** Declared once: the CLI, the worker's checks, the dry run and the docs read it. */
  params: D;
  check?(env: Environment, params: ValuesOf<D>): string | undefined;
  protectedGates: string[];
  askedGate?: string;
  /** Given the parameters in use (defaults filled in) and those the starter gave. */
  beyondBounds?(env: Environment, params: ValuesOf<D>, given: ParamsOf<D>): string[];
}

/** A runbook's definition as the engine reads it, whatever its parameters. */
export interface RunbookSpec {
  name: string;
  /** The workflow function's name (the Temporal workflow type). */
  workflow: string;
  description: string;
  mutating: boolean;
  params: ParamDecls;
  /** Checks the parameters against the environment; returns what is wrong, if anything. */
  check?(env: Environment, params: Record<string, unknown>): string | undefined;
  /**
   * Four eyes: the gates its workflow waits at on a protected environment for another person's
   * signed approval, decided on the worker from this and the inventory (src/policy.ts
   * decideGates), whatever the starter asked. Every mutating runbook names at least one.
   */
  protectedGates: string[];
  /** The gate its `--gate` flag adds on any environment: a starter can add a gate, never remove one. */
  askedGate?: string;
  /**
   * The parameters beyond the environment's bounds (inventory `bounds`), each saying why: they
   * need approval on a protected environment, even from a co-signed schedule.
   */
  beyondBounds?(env: Environment, params: Record<string, unknown>): string[];
}

/**
 * A runbook's definition, typed by its parameters, as the engine reads it: check and bounds get
 * the parameters with their declared defaults filled in, written nowhere else.
 */
export function defineRunbook<const D extends ParamDecls>(def: RunbookDefinition<D>): RunbookSpec {
  const { check, beyondBounds } = def;
  // Defaults from the spec's own `params` (this), so a copy with other declarations checks with them.
  const values = (decls: ParamDecls, params: Record<string, unknown>) => paramValues(decls as D, params as ParamsOf<D>);
  return {
    ...def,
    check:
      check &&
      function (this: RunbookSpec, env, params) {
        return check(env, values(this.params, params));
      },
    beyondBounds:
      beyondBounds &&
      function (this: RunbookSpec, env, params) {
        return beyondBounds(env, values(this.params, params), params as ParamsOf<D>);
      },
  };
}
