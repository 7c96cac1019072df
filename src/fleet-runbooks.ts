// The fleet runbooks' parameters and dry-run plans: rolling-deploy and run-command. The plan
// cuts the inventory's web hosts with the same function the run uses (src/fleet-plan.ts); the
// run itself starts from the hosts the load balancer lists, so a host drained by an earlier
// run is left out there.
import { hostsWithRole, type Environment } from './inventory';
import { isRole } from '../common/roles';
import { batchStepName, budgetOf, CANARY_GATE, COMMAND_GATE, cutBatches, planBatches } from '../common/fleet-plan';
import { COMMAND_PARAMS, ROLLING_PARAMS } from '../common/runbook-params';
import { defineRunbook, hostWithRole, type PlanFacts, type PlanItem, type RunbookSpec } from './runbooks';

const webHosts = (env: Environment) => hostsWithRole(env, 'web');

function selected(env: Environment, selector: string): string[] {
  const role = selector.slice(5);
  if (selector.startsWith('role:')) return isRole(role) ? hostsWithRole(env, role) : [];
  return selector.split(',');
}

function hostList(hosts: string[]): string {
  return hosts.length > 12 ? `${hosts.slice(0, 12).join(', ')} and ${hosts.length - 12} more` : hosts.join(', ');
}

const lbOf = (env: Environment) => hostWithRole(env, 'lb');

export const FLEET_RUNBOOKS: RunbookSpec[] = [
  defineRunbook({
    name: 'rolling-deploy',
    workflow: 'rollingDeploy',
    description:
      'deploys a git ref over a fleet batch by batch (a canary first): ' +
      'each host drained, installed, restarted, health-checked, put back; ' +
      'failed hosts within the error budget rolled back and left drained; past it, everything rolled back',
    mutating: true,
    params: ROLLING_PARAMS,
    protectedGates: [CANARY_GATE],
    askedGate: CANARY_GATE,
    check: (env, params) => {
      try {
        planBatches(webHosts(env), params.batches, params['max-failures']);
        return undefined;
      } catch (err) {
        return `${env.environment}: ${(err as Error).message}`;
      }
    },
    plan: (env, params, facts?: PlanFacts) => {
      const lb = lbOf(env);
      // A run cuts the hosts the upstream lists; a dry run, the inventory's web hosts.
      const plan = planBatches(facts?.hosts ?? webHosts(env), params.batches, params['max-failures']);
      const items: PlanItem[] = [
        {
          step: 'plan the batches',
          where: lb,
          does:
            `the web hosts the upstream lists (as here, less any drained); ` +
            `error budget: ${plan.budget} of ${plan.hosts.length} hosts may fail`,
        },
        {
          step: 'resolve the ref',
          where: `${plan.hosts[0]} (the next host if it cannot be reached)`,
          does: `git fetch; git rev-parse ${params.ref}^{commit}`,
        },
        {
          step: 'record the current commits',
          where: 'every host',
          does:
            'git rev-parse HEAD: what a rollback puts back; a host that cannot be read is drained, ' +
            'listed with why and left out, against the error budget',
        },
      ];
      const gate = (name: string) => ({
        gate: name,
        approvers: env.approvals.approvers,
        required: env.approvals.required,
      });
      plan.batches.forEach((hosts, i) => {
        if (i === 1 && (params.gate || env.protected)) items.push(gate(CANARY_GATE));
        items.push({
          step: batchStepName(i, plan.batches.length, hosts.length),
          where: hostList(hosts),
          does:
            `drain from ${lb}; checkout, expand migrations, restart, health-check each; ` +
            `put back the healthy ones (a failed host: rolled back, left drained); ` +
            `${plan.hosts.length - hosts.length} hosts keep serving`,
          undo: 'drain, put the previous commit back, restart, check, put back (newest first)',
        });
      });
      return items;
    },
  }),
  defineRunbook({
    name: 'run-command',
    workflow: 'runCommandOnFleet',
    description:
      'runs one command (an argv after --, never a shell string) on a set of hosts, batch by batch, ' +
      'with an error budget; exit code, duration and output of each host in the run',
    mutating: true,
    params: COMMAND_PARAMS,
    // Its workflow waits where the step that selects the hosts says the environment is protected.
    protectedGates: [COMMAND_GATE],
    check: (env, params) => {
      const hosts = selected(env, params.hosts);
      const unknown = hosts.filter((h) => !env.hosts[h]);
      if (unknown.length) return `no host ${unknown.join(', ')} in environment ${env.environment}`;
      if (!hosts.length) return `${params.hosts} names no host in environment ${env.environment}`;
      try {
        budgetOf(params['max-failures'], hosts.length);
        cutBatches(hosts, params.batch);
      } catch (err) {
        return (err as Error).message;
      }
      return undefined;
    },
    plan: (env, params, facts?: PlanFacts) => {
      const hosts = facts?.hosts ?? selected(env, params.hosts);
      const batches = cutBatches(hosts, params.batch);
      const budget = budgetOf(params['max-failures'], hosts.length);
      const argv = params.argv.map((a) => JSON.stringify(a)).join(' ');
      return [
        {
          step: 'select the hosts',
          where: 'worker',
          does: `${params.hosts}: ${hosts.length} hosts; error budget: ${budget} may fail`,
        },
        ...(env.protected
          ? [{ gate: COMMAND_GATE, approvers: env.approvals.approvers, required: env.approvals.required }]
          : []),
        ...batches.map((b, i) => ({
          step: batchStepName(i, batches.length, b.length),
          where: hostList(b),
          does: `argv ${argv}; exit code, duration and output tail of each`,
        })),
      ];
    },
  }),
];
