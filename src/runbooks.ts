// The runbooks an operator can start: their parameters, whether they change an environment,
// the gates four eyes needs and their checks. The CLI validates against this before anything
// runs; a dry run walks the runbook's own workflow in plan mode (workflows/dry-run.ts).
import { secretsFor, type Environment } from './inventory';
import { parseDuration } from '../common/duration';
import type { ParamsOf, ValuesOf } from '../common/params';
import { defineRunbook, type RunbookSpec } from '../common/runbook-definition';
import {
  HEALTH_PARAMS,
  PREVIOUS_DATABASE_PARAMS,
  PROVISION_PARAMS,
  RELEASE_PARAMS,
  RESTORE_PARAMS,
  ROTATE_PARAMS,
} from '../common/runbook-params';
import {
  PREVIOUS_DATABASE_STEPS,
  PROVISION_STEPS,
  RELEASE_STEPS,
  RESTORE_STEPS,
  ROTATE_PASSWORD_STEPS,
} from '../common/step-names';
import { FLEET_RUNBOOKS } from './fleet-runbooks';
import { FOLDER_RUNBOOKS } from '../runbooks/definitions.generated';

export { defineRunbook, type RunbookDefinition, type RunbookSpec } from '../common/runbook-definition';

export const RUNBOOKS: RunbookSpec[] = [
  // The runbooks in folders of their own (runbooks/index.ts), then the others.
  ...FOLDER_RUNBOOKS,
  defineRunbook({
    name: 'deploy',
    workflow: 'deploy',
    description:
      'blue/green deploy of a git ref: install and health-check on the idle colour, switch the load balancer, ' +
      'stop the old colour after a rollback window',
    mutating: true,
    params: RELEASE_PARAMS,
    protectedGates: [RELEASE_STEPS.switchGate],
    askedGate: RELEASE_STEPS.switchGate,
    beyondBounds: releaseBounds,
  }),
  defineRunbook({
    name: 'migrate-then-code',
    workflow: 'migrateThenCode',
    description:
      'a release that changes the schema: safety backup, expand migration under the old code, ' +
      'blue/green deploy, approval, contract migration',
    mutating: true,
    params: RELEASE_PARAMS,
    // The contract migration waits for approval everywhere, as its workflow always has.
    protectedGates: [RELEASE_STEPS.switchGate],
    askedGate: RELEASE_STEPS.switchGate,
    beyondBounds: releaseBounds,
  }),
  defineRunbook({
    name: 'provision',
    workflow: 'provision',
    description:
      'brings a fresh Debian host to the known state: ops user, sshd hardening, firewall, fail2ban, ' +
      'unattended upgrades, packages, database, .env, app directory, process manager entry, nginx site; ' +
      'a second run changes nothing',
    mutating: true,
    params: PROVISION_PARAMS,
    protectedGates: [PROVISION_STEPS.gate],
    check: (env, params) => {
      const host = params.host;
      if (!env.hosts[host])
        return (
          `no host ${JSON.stringify(host)} in environment ${env.environment} ` +
          `(hosts: ${Object.keys(env.hosts).join(', ')})`
        );
      if (!env.vars.provision)
        return `environment ${env.environment} has no vars.provision: nothing says what a provisioned host looks like`;
      return undefined;
    },
  }),
  defineRunbook({
    name: 'restore',
    workflow: 'restore',
    description:
      'restore a backup: checksum, approval on protected environments, safety backup, maintenance page, ' +
      'restore into a fresh database, verify, swap it in, back to service',
    mutating: true,
    params: RESTORE_PARAMS,
    // Its workflow reads `protected` in a step of its own (RESTORE_STEPS.policy) and waits there.
    protectedGates: [RESTORE_STEPS.gate],
  }),
  defineRunbook({
    name: 'restore-previous',
    workflow: 'restorePrevious',
    description:
      'puts back the database a restore kept aside (runbook_previous_<tag>, named in its record): ' +
      'safety backup, maintenance page, swap it in, back to service',
    mutating: true,
    params: PREVIOUS_DATABASE_PARAMS,
    protectedGates: [PREVIOUS_DATABASE_STEPS.gate],
  }),
  defineRunbook({
    name: 'drop-previous',
    workflow: 'dropPrevious',
    description: 'drops the database a restore kept aside (runbook_previous_<tag>), once the app is healthy without it',
    mutating: true,
    params: PREVIOUS_DATABASE_PARAMS,
    protectedGates: [PREVIOUS_DATABASE_STEPS.dropGate],
  }),
  defineRunbook({
    name: 'rotate-db-password',
    workflow: 'rotateDbPassword',
    description:
      "a new password for the app's database role, from a secret the inventory references: into every web " +
      "host's .env, onto PostgreSQL, the app restarted colour by colour and checked through the load balancer; " +
      'the old password put back on failure',
    mutating: true,
    params: ROTATE_PARAMS,
    protectedGates: [ROTATE_PASSWORD_STEPS.gate],
    // Run by the CLI and again by the worker (decideRunRules); the acting activity checks once more.
    check: (env, params) => {
      const secret = params.secret;
      const marked = secretsFor(env, 'database-password').join(', ') || 'none';
      if (!env.secrets[secret]) {
        const known = Object.keys(env.secrets).join(', ') || 'none';
        return `no secret ${JSON.stringify(secret)} in environment ${env.environment} (secrets: ${known})`;
      }
      if (env.secrets[secret].use !== 'database-password')
        return (
          `secret ${secret} of ${env.environment} is not marked as a database password ` +
          `(use: database-password in the inventory; marked: ${marked})`
        );
      return undefined;
    },
  }),
  defineRunbook({
    name: 'health-check',
    workflow: 'healthCheck',
    description:
      'checks SSH, the app, HTTP/HTTPS through the load balancer and PostgreSQL on every host by role; ' +
      'alerts the webhook once when a check fails and once when it recovers (read-only: takes no lock)',
    mutating: false,
    params: HEALTH_PARAMS,
    protectedGates: [],
  }),
  // rolling-deploy and run-command: src/fleet-runbooks.ts.
  ...FLEET_RUNBOOKS,
];

type ReleaseValues = ValuesOf<typeof RELEASE_PARAMS>;

/** A rollback window outside the environment's bounds (bounds.rollbackWindow). */
function releaseBounds(env: Environment, params: ReleaseValues, given: ParamsOf<typeof RELEASE_PARAMS>): string[] {
  const asked = params['rollback-window'];
  // The default is held to the environment's bounds as a value typed would be.
  const shown = given['rollback-window'] === undefined ? `${asked} (the default)` : asked;
  const window = parseDuration(asked, '--rollback-window');
  const { min, max } = env.bounds.rollbackWindow;
  if (window < parseDuration(min))
    return [
      `--rollback-window ${shown} is shorter than ${env.environment}'s bound, ${min}: ` +
        'the old colour would stop before a rollback could use it',
    ];
  if (window > parseDuration(max))
    return [`--rollback-window ${shown} is longer than ${env.environment}'s bound, ${max}: the run holds it`];
  return [];
}

export function findRunbook(name: string): RunbookSpec | undefined {
  return RUNBOOKS.find((r) => r.name === name);
}
