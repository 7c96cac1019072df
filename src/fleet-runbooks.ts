// The fleet runbooks' parameters and checks: rolling-deploy and run-command. The check cuts the
// inventory's web hosts with the same function the run uses (common/fleet-plan.ts); the run
// itself starts from the hosts the load balancer lists, so a host drained by an earlier run is
// left out there.
import { hostsWithRole, type Environment } from './inventory';
import { selectHostNames } from '../common/host-selector';
import { budgetOf, CANARY_GATE, COMMAND_GATE, cutBatches, planBatches } from '../common/fleet-plan';
import { COMMAND_PARAMS, ROLLING_PARAMS } from '../common/runbook-params';
import { defineRunbook, type RunbookSpec } from '../common/runbook-definition';

const webHosts = (env: Environment) => hostsWithRole(env, 'web');

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
      try {
        const hosts = selectHostNames(env, params.hosts);
        budgetOf(params['max-failures'], hosts.length);
        cutBatches(hosts, params.batch);
      } catch (err) {
        return `${env.environment}: ${(err as Error).message}`;
      }
      return undefined;
    },
  }),
];
