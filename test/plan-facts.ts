// What a run found out that its dry-run plan names steps after (the idle colour, the backup it
// picked, the hosts it checked), read from its activities' inputs and results — never from the
// steps it recorded, so a check of plan against run compares two independent things.
import type { Environment } from '../src/inventory';
import { loadEnvironment } from '../src/inventory';
import { PLACEHOLDERS, type PlanFacts, type PlannedStep, type PlanItem } from '../src/runbooks';
import { colourLabel } from '../common/fleet-plan';

/** One activity call: its type, input and result (from a history, or recorded by a stub). */
export interface ActivityCall {
  type: string;
  input: unknown;
  result?: unknown;
}

export function factsOf(calls: ActivityCall[]): PlanFacts {
  const first = (type: string) => calls.find((c) => c.type === type);
  const groups = first('colourGroups')?.result as
    Record<'live' | 'idle', { colour: string; hosts: string[] }> | undefined;
  const colours =
    (first('colours')?.result as { live: string; idle: string } | undefined) ??
    (groups && {
      live: colourLabel(groups.live.colour, groups.live.hosts),
      idle: colourLabel(groups.idle.colour, groups.idle.hosts),
    });
  // Fleet runbooks cut into batches the hosts they found.
  const fleet = (first('rollingPlan') ?? first('selectHosts'))?.result as { hosts: string[] } | undefined;
  const dump = first('dumpToStore')?.input as { name: string } | undefined;
  const hosts = first('healthCheckHosts')?.result as string[] | undefined;
  const putBack = first('putPreviousBack')?.input as { asideTag: string } | undefined;
  const checks = calls.filter((c) => c.type === 'checkHost').reduce((n, c) => n + (c.result as unknown[]).length, 0);
  return {
    ...PLACEHOLDERS,
    ...colours,
    ...(first('pickBackup') ? { backup: first('pickBackup')!.result as string } : {}),
    ...(dump ? { dump: dump.name.replace(/-safety$/, '') } : {}),
    ...(hosts ? { hosts, checks } : {}),
    ...(fleet ? { hosts: fleet.hosts } : {}),
    ...(putBack ? { aside: `runbook_previous_${putBack.asideTag}` } : {}),
  };
}

export const stepsOf = (plan: PlanItem[]): string[] =>
  plan.filter((i): i is PlannedStep => 'step' in i).map((i) => i.step);

export const gatesOf = (plan: PlanItem[]): string[] =>
  plan.filter((i): i is Extract<PlanItem, { gate: string }> => 'gate' in i).map((i) => i.gate);

/** Environments a test wrote at run time (test/bed-inventory.ts) are copies of the test bed's `local`. */
export function environmentOf(name: string): Environment {
  try {
    return loadEnvironment(name);
  } catch {
    return loadEnvironment('local');
  }
}
