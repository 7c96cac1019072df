// What a dry run's step texts read (workflows/kernel/plan.ts): the environment as this worker's
// inventory has it, with neither secrets nor the alert webhook's address.
import type { PlanContext } from '../common/plan';
import { loadEnvironment } from '../src/inventory';

export async function planContext({ env }: { env: string }): Promise<PlanContext> {
  const e = loadEnvironment(env);
  const vars = e.vars.alertWebhook ? { ...e.vars, alertWebhook: '(set)' } : e.vars;
  return { environment: e.environment, protected: e.protected, hosts: e.hosts, services: e.services, vars };
}
