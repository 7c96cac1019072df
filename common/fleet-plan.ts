// How a fleet is cut into batches and how many hosts may fail: one function for the dry run
// (client) and the run (workflow), so what an operator approves is what happens. Imported by
// workflow code: no Node built-ins, no I/O.

/** `1,25%,100%`: a count or a percentage of the fleet per batch; the last one repeats. */
export const BATCHES = /^(?:[1-9]\d{0,3}%?)(?:,[1-9]\d{0,3}%?){0,19}$/;
/** `2` hosts or `5%` of the fleet. */
export const MAX_FAILURES = /^(?:\d{1,4}|\d{1,3}%)$/;
export const MAX_FLEET = 1000;

export interface FleetPlan {
  /** Every host, in the order they change. */
  hosts: string[];
  batches: string[][];
  /** How many hosts may fail (rolled back, left drained) before the run stops and rolls back. */
  budget: number;
}

function count(spec: string, fleet: number): number {
  // A percentage rounds down, but a batch is never empty (Ansible's `serial` does the same).
  return spec.endsWith('%') ? Math.max(1, Math.floor((fleet * Number(spec.slice(0, -1))) / 100)) : Number(spec);
}

/** Cuts `hosts` into batches; throws an Error saying why when the plan is refused. */
export function planBatches(hosts: readonly string[], batches: string, maxFailures: string): FleetPlan {
  if (!BATCHES.test(batches))
    throw new Error(`--batches ${JSON.stringify(batches)}: counts or percentages separated by commas, e.g. 1,25%,100%`);
  if (!MAX_FAILURES.test(maxFailures))
    throw new Error(`--max-failures ${JSON.stringify(maxFailures)}: a number of hosts or a percentage, e.g. 2 or 5%`);
  const fleet = hosts.length;
  if (fleet === 0) throw new Error('the fleet has no web host taking traffic');
  if (fleet > MAX_FLEET) throw new Error(`the fleet has ${fleet} hosts; at most ${MAX_FLEET} change in one run`);
  const budget = budgetOf(maxFailures, fleet);
  const out = cutBatches(hosts, batches);
  // The load balancer keeps (fleet - batch - failed) hosts: a batch that would drain them all is refused.
  const widest = Math.max(...out.map((b) => b.length));
  if (widest >= fleet) {
    throw new Error(
      `a batch of ${widest} of ${fleet} hosts would leave the load balancer with no host taking traffic; ` +
        `start with a smaller batch (e.g. --batches 1,25%,100%)`,
    );
  }
  return { hosts: [...hosts], batches: out, budget };
}

/** How many hosts of `fleet` may fail: a count, or a percentage rounded down. */
export function budgetOf(maxFailures: string, fleet: number): number {
  if (!MAX_FAILURES.test(maxFailures))
    throw new Error(`--max-failures ${JSON.stringify(maxFailures)}: a number of hosts or a percentage, e.g. 2 or 5%`);
  return maxFailures.endsWith('%') ? Math.floor((fleet * Number(maxFailures.slice(0, -1))) / 100) : Number(maxFailures);
}

/** `hosts` in batches of the sizes `batches` gives; the last size repeats until every host has one. */
export function cutBatches(hosts: readonly string[], batches: string): string[][] {
  if (!BATCHES.test(batches))
    throw new Error(`--batches ${JSON.stringify(batches)}: counts or percentages separated by commas, e.g. 1,25%,100%`);
  const specs = batches.split(',');
  const out: string[][] = [];
  let next = 0;
  for (let i = 0; next < hosts.length; i++) {
    const size = Math.min(count(specs[Math.min(i, specs.length - 1)], hosts.length), hosts.length - next);
    out.push(hosts.slice(next, next + size));
    next += size;
  }
  return out;
}

export function batchStepName(index: number, total: number, size: number): string {
  return `batch ${index + 1}/${total} (${size} ${size === 1 ? 'host' : 'hosts'})`;
}

export const CANARY_GATE = 'after the canary batch';
export const COMMAND_GATE = 'run the command';

/** How steps name a colour: its host when it has one, else the colour and its size. */
export function colourLabel(colour: string, hosts: readonly string[]): string {
  return hosts.length === 1 ? hosts[0] : `${colour} (${hosts.length} hosts)`;
}
