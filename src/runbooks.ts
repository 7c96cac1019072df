// The runbooks an operator can start: their parameters, whether they change an environment,
// and the plan a dry run prints. The CLI validates against this before anything runs.
import { hostsWithRole, secretsFor, type Environment } from './inventory';
import type { Role } from '../common/roles';
import { parseDuration } from '../common/duration';
import { paramValues, type ParamDecls, type ParamsOf, type ValuesOf } from '../common/params';
import {
  BACKUP_PARAMS,
  HEALTH_PARAMS,
  PREVIOUS_DATABASE_PARAMS,
  PROVISION_PARAMS,
  RELEASE_PARAMS,
  RENEW_PARAMS,
  RESTORE_PARAMS,
  ROTATE_PARAMS,
  SMOKE_PARAMS,
} from '../common/runbook-params';
import {
  BACKUP_STEPS,
  CERTIFICATE_STEPS,
  HEALTH_STEPS,
  PREVIOUS_DATABASE_STEPS,
  PROVISION_STEPS,
  RELEASE_STEPS,
  RESTORE_STEPS,
  ROTATE_PASSWORD_STEPS,
  SMOKE_STEPS,
} from '../common/step-names';
import { FLEET_RUNBOOKS } from './fleet-runbooks';

export interface PlannedStep {
  step: string;
  where: string;
  does: string;
  undo?: string;
  /** The patch (workflows' `patched()`) that added the step: runs recorded before it lack it. */
  patch?: string;
}

export type PlanItem = PlannedStep | { gate: string; approvers: string[]; required: number };

/**
 * What a run finds out and names steps after (the idle colour, the backup it picked). A dry run
 * finds nothing and shows placeholders; the plan test passes what a recorded run found.
 */
export interface PlanFacts {
  live: string;
  idle: string;
  /** The backup a restore picked. */
  backup: string;
  /** The file a backup or a restore's safety backup writes. */
  dump: string;
  /** Where restore-previous keeps the database it replaces. */
  aside: string;
  /** The hosts a health check found, and how many checks it ran. */
  hosts?: string[];
  checks: number | string;
}

export const PLACEHOLDERS: PlanFacts = {
  live: '<live colour>',
  idle: '<idle colour>',
  backup: '<backup>',
  dump: '<env>-<time>',
  aside: 'runbook_previous_<new tag>',
  checks: '<n>',
};

/** A runbook as its definition is written: its parameters' types reach plan, check and bounds. */
export interface RunbookDefinition<D extends ParamDecls> {
  name: string;
  /** The workflow function's name in workflows/index.ts. */
  workflow: string;
  description: string;
  mutating: boolean;
  /** Declared once (common/runbook-params.ts): the CLI, the worker's checks, the dry run and the docs read it. */
  params: D;
  /** The plan, given the parameters with their defaults filled in. */
  plan(env: Environment, params: ValuesOf<D>, facts?: PlanFacts): PlanItem[];
  check?(env: Environment, params: ValuesOf<D>): string | undefined;
  protectedGates: string[];
  askedGate?: string;
  /** Given the parameters in use (defaults filled in) and those the starter gave. */
  beyondBounds?(env: Environment, params: ValuesOf<D>, given: ParamsOf<D>): string[];
}

/** A runbook's definition as the engine reads it, whatever its parameters. */
export interface RunbookSpec {
  name: string;
  /** The workflow function's name in workflows/index.ts. */
  workflow: string;
  description: string;
  mutating: boolean;
  params: ParamDecls;
  /** The plan of a run given `params` (checked; the defaults are filled in here). */
  plan(env: Environment, params: Record<string, unknown>, facts?: PlanFacts): PlanItem[];
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
 * A runbook's definition, typed by its parameters, as the engine reads it: plan and check get
 * the parameters with their declared defaults filled in, written nowhere else.
 */
export function defineRunbook<const D extends ParamDecls>(def: RunbookDefinition<D>): RunbookSpec {
  const { plan, check, beyondBounds } = def;
  // Defaults from the spec's own `params` (this), so a copy with other declarations plans with them.
  const values = (decls: ParamDecls, params: Record<string, unknown>) => paramValues(decls as D, params as ParamsOf<D>);
  return {
    ...def,
    plan(env, params, facts) {
      return plan(env, values(this.params, params), facts);
    },
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

export const RUNBOOKS: RunbookSpec[] = [
  defineRunbook({
    name: 'smoke',
    workflow: 'smoke',
    description:
      'checks the engine end to end: holds the environment, two marker steps on the worker, ' +
      'an approval gate, undo on rejection',
    mutating: true,
    params: SMOKE_PARAMS,
    protectedGates: [SMOKE_STEPS.gate],
    plan: (env) => [
      {
        step: SMOKE_STEPS.prepare,
        where: 'worker',
        does: 'write the prepare marker',
        undo: 'remove the prepare marker',
      },
      {
        step: SMOKE_STEPS.announce,
        where: 'worker',
        does: 'write the announce marker',
        undo: 'remove the announce marker',
      },
      { gate: SMOKE_STEPS.gate, approvers: env.approvals.approvers, required: env.approvals.required },
    ],
  }),
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
    plan: (env, params, facts = PLACEHOLDERS) => [
      ...releaseStart(env, params, facts),
      releaseInstall(env, facts),
      ...releaseSwitch(env, params, facts),
    ],
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
    plan: (env, params, facts = PLACEHOLDERS) => [
      ...releaseStart(env, params, facts),
      { step: RELEASE_STEPS.recordServing, where: facts.live, does: 'git rev-parse HEAD' },
      {
        step: RELEASE_STEPS.safetyBackup,
        where: hostWithRole(env, 'db'),
        does: `pg_dump --format=custom ${env.vars.databaseName}`,
      },
      releaseInstall(env, facts),
      {
        step: RELEASE_STEPS.checkOldCode,
        where: hostWithRole(env, 'lb'),
        does: `GET ${env.vars.healthPath} still serves the old commit`,
      },
      ...releaseSwitch(env, params, facts),
      { gate: RELEASE_STEPS.contractGate, approvers: env.approvals.approvers, required: env.approvals.required },
      { step: RELEASE_STEPS.contract, where: facts.idle, does: 'migrate (all pending, contract included)' },
      {
        step: RELEASE_STEPS.checkThroughLb,
        where: hostWithRole(env, 'lb'),
        does: `GET ${env.vars.healthPath} serves <commit>`,
      },
    ],
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
    plan: (env, params) => {
      const host = params.host;
      const p = env.vars.provision;
      const ops = p?.opsUser ?? 'ops';
      return [
        { step: PROVISION_STEPS.reach, where: host, does: `log in as ${ops} if it works, else as ${env.ssh.user}` },
        ...gateWhere(env.protected, env, PROVISION_STEPS.gate),
        {
          step: PROVISION_STEPS.opsUser,
          where: host,
          does: `useradd ${ops}; authorized_keys; /etc/sudoers.d (visudo -c)`,
          undo: 'remove what this run added',
        },
        { step: PROVISION_STEPS.opsLogin, where: host, does: `a new SSH login as ${ops}, then sudo -n` },
        {
          step: PROVISION_STEPS.sshd,
          where: host,
          does: 'sshd_config.d drop-in; sshd -t; reload',
          undo: 'put the previous file back; reload',
        },
        {
          step: PROVISION_STEPS.firewall,
          where: host,
          does: `ufw default deny; allow ${(p?.openPorts ?? [22, 80, 443]).join(', ')}; enable`,
          undo: 'put the previous /etc/ufw and state back',
        },
        {
          step: PROVISION_STEPS.fail2ban,
          where: host,
          does: 'jail.d/runbook-sshd.local; (re)start fail2ban',
          undo: 'previous jail; stop fail2ban if it was stopped',
        },
        {
          step: PROVISION_STEPS.upgrades,
          where: host,
          does: 'apt.conf.d: security origins, no automatic reboot, mail root',
          undo: 'previous files',
        },
        {
          step: PROVISION_STEPS.packages,
          where: host,
          does: `apt-get install ${(p?.packages ?? []).join(' ')}; versions in /var/lib/runbook/packages.txt`,
        },
        {
          step: PROVISION_STEPS.database,
          where: host,
          does: `create role ${env.vars.databaseUser} and database ${env.vars.databaseName} if missing`,
          undo: 'drop what this run created',
        },
        {
          step: PROVISION_STEPS.appDir,
          where: host,
          does: `user ${env.vars.appUser}; ${env.vars.appDir} mode 0750`,
          undo: 'remove what this run created',
        },
        {
          step: PROVISION_STEPS.appEnv,
          where: host,
          does: `${env.vars.appDir}/.env mode 0600 (secrets resolved on the worker)`,
          undo: 'previous file',
        },
        {
          step: PROVISION_STEPS.processEntry,
          where: host,
          does: 'supervisor program app; supervisorctl update',
          undo: 'previous entry',
        },
        {
          step: PROVISION_STEPS.nginxSite,
          where: host,
          does: 'conf.d/app.conf; nginx -t; reload',
          undo: 'previous site; reload',
        },
        { step: PROVISION_STEPS.verify, where: host, does: 'services running; ports answer from outside' },
        {
          step: PROVISION_STEPS.forgetEnv,
          where: host,
          does: 'the run is kept: its copy of the previous .env (for the undo) is deleted',
          patch: 'forget-previous-env',
        },
      ];
    },
  }),
  defineRunbook({
    name: 'backup',
    workflow: 'backup',
    description:
      'pg_dump streamed to the backup store, checksummed, ' +
      'verified by restoring it into a scratch database and comparing row counts, then retention',
    // Retention deletes files a restore may be reading: one at a time per environment.
    mutating: true,
    params: BACKUP_PARAMS,
    protectedGates: [BACKUP_STEPS.gate],
    // Retention not given follows the inventory (inventoryDefault): only a request can go below its floor.
    beyondBounds: (env, params) =>
      (['daily', 'weekly'] as const).flatMap((unit) => {
        const asked = params[unit];
        if (asked === undefined) return [];
        const floor = retentionFloor(env)[unit];
        return asked < floor
          ? [
              `--${unit} ${asked} is below ${env.environment}'s retention floor, ${floor}: ` +
                'retention would delete backups the inventory keeps',
            ]
          : [];
      }),
    plan: (env, params, facts = PLACEHOLDERS) => {
      const db = hostWithRole(env, 'db');
      const store = backupStoreText(env);
      const retention = env.vars.backupRetention;
      const keep = { daily: params.daily ?? retention.daily, weekly: params.weekly ?? retention.weekly };
      return [
        {
          step: BACKUP_STEPS.dump(facts.dump),
          where: `${db} → worker → ${store}`,
          does:
            `pg_dump --format=custom ${env.vars.databaseName} streamed to ${facts.dump}.dump ` +
            `with its sha256 and row counts`,
          undo: 'delete that backup',
        },
        {
          step: BACKUP_STEPS.verify,
          where: db,
          does: "pg_restore into a scratch database streamed from the store; compare every table's row count; drop it",
          undo: 'drop the scratch database',
        },
        ...gateWhere(env.protected, env, BACKUP_STEPS.gate),
        {
          step: BACKUP_STEPS.retention,
          where: store,
          does:
            `keep the newest backup of the last ${keep.daily} days ` +
            `and ${keep.weekly} weeks; delete the other scheduled ones`,
        },
      ];
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
    plan: (env, params, facts = PLACEHOLDERS) => {
      const db = hostWithRole(env, 'db');
      const lb = hostWithRole(env, 'lb');
      const store = backupStoreText(env);
      const database = env.vars.databaseName;
      const flag = env.vars.maintenanceFlag;
      return [
        { step: RESTORE_STEPS.pick, where: store, does: params.backup },
        {
          step: RESTORE_STEPS.checksum(facts.backup),
          where: store,
          does: params['accept-unrecorded']
            ? "sha256sum of the dump equals the one its run recorded in Temporal, or (none kept) the store's own"
            : 'sha256sum of the dump equals the one its run recorded in Temporal, or refuse',
        },
        {
          step: RESTORE_STEPS.policy,
          where: 'worker',
          does: `the inventory says ${env.environment} is ${env.protected ? '' : 'not '}protected`,
        },
        ...(env.protected
          ? [{ gate: RESTORE_STEPS.gate, approvers: env.approvals.approvers, required: env.approvals.required }]
          : []),
        {
          step: RESTORE_STEPS.safetyBackup(`${facts.dump}-safety`),
          where: `${db} → worker → ${store}`,
          does: `pg_dump --format=custom ${database}`,
        },
        { step: RESTORE_STEPS.maintenanceOn, where: lb, does: `touch ${flag}`, undo: 'remove it' },
        {
          step: RESTORE_STEPS.restoreFresh,
          where: db,
          does: 'createdb; the dump streamed from the store to a file, its sha256 checked, then pg_restore',
          undo: 'drop that database',
        },
        { step: RESTORE_STEPS.verifyRestored, where: db, does: "count(*) of every table equals the backup's" },
        {
          step: RESTORE_STEPS.swapIn,
          where: db,
          does: `rename ${database} aside and the restored one to ${database}, in one transaction`,
          undo: 'swap the previous database back',
        },
        {
          step: RESTORE_STEPS.verifyLive,
          where: db,
          does: `count(*) of every table of ${database} equals the backup's`,
        },
        { step: RESTORE_STEPS.maintenanceOff, where: lb, does: `rm ${flag}` },
        {
          step: RESTORE_STEPS.checkThroughLb,
          where: lb,
          does: `GET ${env.vars.healthPath} answers 200 with its database`,
        },
        { step: RESTORE_STEPS.dropPrevious, where: db, does: 'dropdb (its content is in the safety backup)' },
      ];
    },
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
    plan: (env, params, facts = PLACEHOLDERS) => {
      const db = hostWithRole(env, 'db');
      const lb = hostWithRole(env, 'lb');
      const kept = params.database;
      const database = env.vars.databaseName;
      const flag = env.vars.maintenanceFlag;
      const S = PREVIOUS_DATABASE_STEPS;
      return [
        { step: S.check(kept), where: db, does: 'it exists, or refuse' },
        {
          step: S.policy,
          where: 'worker',
          does: `the inventory says ${env.environment} is ${env.protected ? '' : 'not '}protected`,
        },
        ...(env.protected
          ? [{ gate: S.gate, approvers: env.approvals.approvers, required: env.approvals.required }]
          : []),
        {
          step: S.safetyBackup(`${facts.dump}-safety`),
          where: `${db} → worker → ${backupStoreText(env)}`,
          does: `pg_dump --format=custom ${database}`,
        },
        { step: S.maintenanceOn, where: lb, does: `touch ${flag}`, undo: 'remove it' },
        {
          step: S.swapIn(kept),
          where: db,
          does: `rename ${database} aside (${facts.aside}) and ${kept} to ${database}, in one transaction`,
          undo: 'swap back',
        },
        { step: S.maintenanceOff, where: lb, does: `rm ${flag}` },
        { step: S.checkThroughLb, where: lb, does: `GET ${env.vars.healthPath} answers 200 with its database` },
        { step: S.dropReplaced(facts.aside), where: db, does: 'dropdb (its content is in the safety backup)' },
      ];
    },
  }),
  defineRunbook({
    name: 'drop-previous',
    workflow: 'dropPrevious',
    description: 'drops the database a restore kept aside (runbook_previous_<tag>), once the app is healthy without it',
    mutating: true,
    params: PREVIOUS_DATABASE_PARAMS,
    protectedGates: [PREVIOUS_DATABASE_STEPS.dropGate],
    plan: (env, params) => [
      ...gateWhere(env.protected, env, PREVIOUS_DATABASE_STEPS.dropGate),
      {
        step: PREVIOUS_DATABASE_STEPS.drop(params.database),
        where: hostWithRole(env, 'db'),
        does: 'dropdb (nothing when it is already gone)',
      },
    ],
  }),
  defineRunbook({
    name: 'renew-certificate',
    workflow: 'renewCertificate',
    description:
      'renews the TLS certificate of each domain that expires within the threshold (or --force) with certbot, ' +
      'installs it on the load balancer, checks nginx serves it; puts the previous one back on failure',
    mutating: true,
    params: RENEW_PARAMS,
    protectedGates: [CERTIFICATE_STEPS.gate],
    plan: (env, params) => {
      const lb = hostWithRole(env, 'lb');
      const { domains } = env.vars;
      const tlsDir = env.vars.tlsDir;
      const when = params.force ? 'forced' : `if it expires within ${params.threshold}`;
      return [
        {
          step: CERTIFICATE_STEPS.served,
          where: lb,
          does: `TLS handshake on :443 with SNI ${domains.join(', ')}: expiry and fingerprint`,
        },
        ...gateWhere(env.protected, env, CERTIFICATE_STEPS.gate),
        ...domains.flatMap((d): PlanItem[] => [
          {
            step: CERTIFICATE_STEPS.obtain(d),
            where: lb,
            does:
              `${when}: certbot certonly --webroot -w ${env.vars.acmeWebroot} ` +
              `--server ${env.vars.acmeDirectory} -d ${d}`,
          },
          {
            step: CERTIFICATE_STEPS.check(d),
            where: lb,
            does:
              'names the domain, chain signed link by link, dates valid now, matches its key, ' +
              'differs from the served one',
          },
          {
            step: CERTIFICATE_STEPS.install(d),
            where: lb,
            does: `keep ${tlsDir}/${d}/{fullchain,privkey}.pem aside, copy certbot's pair there`,
            undo: 'put the previous pair back, nginx -t, reload',
          },
        ]),
        { step: CERTIFICATE_STEPS.testNginx, where: lb, does: (env.services.nginx?.test ?? ['nginx', '-t']).join(' ') },
        { step: CERTIFICATE_STEPS.reloadNginx, where: lb, does: (env.services.nginx?.reload ?? []).join(' ') },
        ...domains.map((d) => ({
          step: CERTIFICATE_STEPS.verify(d),
          where: lb,
          does: 'TLS handshake: the served fingerprint is the new one',
        })),
      ];
    },
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
    plan: (env, params, facts = PLACEHOLDERS) => {
      const S = ROTATE_PASSWORD_STEPS;
      const secret = params.secret;
      const [db, lb] = [hostWithRole(env, 'db'), hostWithRole(env, 'lb')];
      const web = hostsWithRole(env, 'web').join(', ') || '(no web host)';
      const envFile = `${env.vars.appDir}/.env`;
      const role = env.vars.databaseUser;
      const restart = (colour: string): PlannedStep => ({
        step: S.restart(colour),
        where: colour,
        does:
          `where it runs: ${(env.services.app?.reload ?? []).join(' ')}; GET ${env.vars.healthPath} answers 200 ` +
          'with its database (a stopped app is left stopped: it reads the new .env when it starts)',
      });
      return [
        { step: S.findColours, where: lb, does: `read ${env.vars.upstreamFile}` },
        {
          step: S.check(secret),
          where: `worker; ${web}`,
          does: `resolve secrets.${secret}: 16 to 200 printable ASCII characters; each ${envFile} logs in as ${role}`,
        },
        {
          step: S.policy,
          where: 'worker',
          does: `the inventory says ${env.environment} is ${env.protected ? '' : 'not '}protected`,
        },
        ...(env.protected
          ? [{ gate: S.gate, approvers: env.approvals.approvers, required: env.approvals.required }]
          : []),
        {
          step: S.writeEnv,
          where: web,
          does: `the password of DATABASE_URL in ${envFile}, sent on stdin; the previous file kept on the host`,
          undo: 'put each previous .env back; restart the app where this run restarted it, and check it',
        },
        {
          step: S.setOnDatabase,
          where: db,
          does: `alter role ${role} password '<SCRAM verifier made on the worker>' (stdin); the previous one kept`,
          undo: 'put the previous verifier back',
        },
        restart(facts.live),
        restart(facts.idle),
        { step: S.checkThroughLb, where: lb, does: `GET ${env.vars.healthPath} answers 200 with its database` },
        {
          step: S.forget,
          where: `${db}; ${web}`,
          does: 'the run is kept: the copies of the previous password (for the undos) are deleted',
        },
      ];
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
    plan: (env, _params, facts = PLACEHOLDERS) => {
      const hosts = facts.hosts ?? Object.keys(env.hosts);
      const alert = env.vars.alertWebhook ? 'POST to vars.alertWebhook' : 'no vars.alertWebhook set: only recorded';
      return [
        {
          step: HEALTH_STEPS.previous,
          where: 'Temporal',
          does: 'the result of the previous health-check run of this environment',
        },
        { step: HEALTH_STEPS.hosts, where: 'worker', does: 'every host of the inventory, by role' },
        ...hosts.map((name) => ({ step: HEALTH_STEPS.check(name), where: name, does: hostChecks(env, name) })),
        {
          step: HEALTH_STEPS.summary(facts.checks, []),
          where: 'worker',
          does: `the outcome; before it, when a check newly fails or recovers, an alert step (${alert})`,
        },
      ];
    },
  }),
  // rolling-deploy and run-command: src/fleet-runbooks.ts.
  ...FLEET_RUNBOOKS,
];

export function hostWithRole(env: Environment, role: Role): string {
  return hostsWithRole(env, role)[0] ?? `(no ${role} host)`;
}

function hostChecks(env: Environment, name: string): string {
  const roles = env.hosts[name]?.roles ?? [];
  return [
    'ssh: a fresh login',
    ...(roles.includes('web')
      ? [`app: GET 127.0.0.1:${env.vars.appPort}${env.vars.healthPath} (live colour only)`]
      : []),
    ...(roles.includes('lb') ? [`http and https: GET ${env.vars.healthPath} from the worker`] : []),
    ...(roles.includes('db') ? ['postgresql: pg_isready'] : []),
  ].join('; ');
}

type ReleaseValues = ValuesOf<typeof RELEASE_PARAMS>;

/** The steps both release runbooks start with: they change nothing. */
function releaseStart(env: Environment, params: ReleaseValues, facts: PlanFacts): PlanItem[] {
  return [
    { step: RELEASE_STEPS.findColours, where: hostWithRole(env, 'lb'), does: `read ${env.vars.upstreamFile}` },
    {
      step: RELEASE_STEPS.resolveRef,
      where: facts.idle,
      does: `git fetch; git rev-parse ${params.ref}^{commit}`,
    },
  ];
}

function releaseInstall(env: Environment, facts: PlanFacts): PlanItem {
  const does = 'git checkout --detach <commit>; migrate --phase expand';
  return { step: RELEASE_STEPS.install(facts.idle), where: facts.idle, does, undo: 'stop the app there' };
}

/** Blue/green from a started idle colour to a stopped old one (workflows/blue-green.ts). */
function releaseSwitch(env: Environment, params: ReleaseValues, facts: PlanFacts): PlanItem[] {
  const lb = hostWithRole(env, 'lb');
  const { idle, live } = facts;
  const gate = { gate: RELEASE_STEPS.switchGate, approvers: env.approvals.approvers, required: env.approvals.required };
  return [
    {
      step: RELEASE_STEPS.start(idle),
      where: idle,
      does: (env.services.app?.reload ?? []).join(' '),
      undo: 'stop the app there',
    },
    { step: RELEASE_STEPS.healthCheck(idle), where: idle, does: `GET ${env.vars.healthPath} serves <commit>` },
    ...(params.gate || env.protected ? [gate] : []),
    {
      step: RELEASE_STEPS.switchTraffic(idle),
      where: lb,
      does: `point ${env.vars.upstreamName} at ${idle}; nginx -t; reload`,
      undo: `point it back at ${live}`,
    },
    { step: RELEASE_STEPS.checkThroughLb, where: lb, does: `GET ${env.vars.healthPath} serves <commit>` },
    { step: RELEASE_STEPS.rollbackWindow(params['rollback-window']), where: 'Temporal', does: 'wait' },
    { step: RELEASE_STEPS.stopOld(live), where: live, does: (env.services.app?.stop ?? []).join(' ') },
  ];
}

/** A gate item of a plan, where the run will wait at it. */
export function gateWhere(waits: boolean, env: Environment, gate: string): PlanItem[] {
  return waits ? [{ gate, approvers: env.approvals.approvers, required: env.approvals.required }] : [];
}

/** How many days and weeks retention must keep before a request is beyond the bounds. */
function retentionFloor(env: Environment): { daily: number; weekly: number } {
  const retention = env.vars.backupRetention;
  const floor = env.bounds.retentionFloor;
  return { daily: floor?.daily ?? retention.daily, weekly: floor?.weekly ?? retention.weekly };
}

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

function backupStoreText(env: Environment): string {
  const store = env.vars.backupStore;
  return store ? `${store.host}:${store.dir}` : '(no backupStore in the inventory)';
}

export function findRunbook(name: string): RunbookSpec | undefined {
  return RUNBOOKS.find((r) => r.name === name);
}
