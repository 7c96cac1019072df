// `runbook inventory check`: every error of every environment at once, before a run finds the
// first of them.
import { UsageError } from '../src/errors';
import { inventoryDirs } from '../src/config';
import { inventoryProblems } from '../src/inventory';
import { inertText } from '../common/inert';
import { RUNBOOKS } from '../src/runbooks';
import { parse } from './args';
import { printJson } from './output';

/** Exit code of a check that found problems: the inventory is the operator's input. */
const PROBLEMS_FOUND = 2;

export async function inventory(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {});
  if (positionals[0] !== 'check' || positionals.length > 1)
    throw new UsageError('usage: runbook inventory check [--json]');
  const known = RUNBOOKS.map((r) => r.name);
  const { environments, problems } = inventoryProblems(inventoryDirs(), known);
  if (values.json) printJson({ inventory: inventoryDirs(), environments, problems });
  else {
    for (const p of problems) console.log(inertText(p));
    console.log(
      `${environments.length} environment(s) in ${inventoryDirs().join(':')}: ` +
        `${problems.length ? `${problems.length} problem(s)` : 'no problems'}`,
    );
  }
  return problems.length ? PROBLEMS_FOUND : 0;
}
