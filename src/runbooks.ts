// The runbooks an operator can start: their parameters, whether they change an environment,
// and the plan a dry run prints. The CLI validates against this before anything runs.
import type { Environment } from './inventory';
import { BACKUP_CHOICE } from '../common/backup-names';

export interface ParamSpec {
  name: string;
  description: string;
  required?: boolean;
  boolean?: boolean;
  /** What a valid value looks like; anything else is refused before the run starts. */
  pattern?: RegExp;
}

export interface PlannedStep {
  step: string;
  where: string;
  does: string;
  undo?: string;
}

export type PlanItem = PlannedStep | { gate: string; approvers: string[]; required: number };

export interface RunbookSpec {
  name: string;
  /** The workflow function's name in workflows/index.ts. */
  workflow: string;
  description: string;
  mutating: boolean;
  params: ParamSpec[];
  plan(env: Environment, params: Record<string, unknown>): PlanItem[];
  /** Checks the parameters against the environment; returns what is wrong, if anything. */
  check?(env: Environment, params: Record<string, unknown>): string | undefined;
}

/** A git ref as operators type it: no leading dash, no "..", no spaces or shell characters. */
const GIT_REF = /^(?!-)(?!.*\.\.)[A-Za-z0-9._/@{}^~-]{1,200}$/;
const DURATION = /^(?:\d+(?:ms|s|m|h|d))+$/;

/** What a release runbook (deploy, migrate-then-code) is told. */
const RELEASE_PARAMS: ParamSpec[] = [
  { name: 'ref', required: true, pattern: GIT_REF, description: 'a tag, branch or commit id of the application repository' },
  { name: 'gate', boolean: true, description: 'wait for approval before traffic moves' },
  { name: 'rollback-window', pattern: DURATION, description: 'how long the old colour keeps running after the switch, e.g. 10m (default)' },
];

export const RUNBOOKS: RunbookSpec[] = [
  {
    name: 'smoke',
    workflow: 'smoke',
    description: 'checks the engine end to end: holds the environment, two marker steps on the worker, an approval gate, undo on rejection',
    mutating: true,
    params: [],
    plan: (env) => [
      { step: 'prepare', where: 'worker', does: 'write the prepare marker', undo: 'remove the prepare marker' },
      { step: 'announce', where: 'worker', does: 'write the announce marker', undo: 'remove the announce marker' },
      { gate: 'go-ahead', approvers: env.approvals.approvers, required: env.approvals.required },
    ],
  },
  {
    name: 'deploy',
    workflow: 'deploy',
    description: 'blue/green deploy of a git ref: install and health-check on the idle colour, switch the load balancer, stop the old colour after a rollback window',
    mutating: true,
    params: RELEASE_PARAMS,
    plan: (env, params) => {
      const web = Object.entries(env.hosts).filter(([, h]) => h.roles.includes('web')).map(([n]) => n);
      const lb = Object.entries(env.hosts).find(([, h]) => h.roles.includes('lb'))?.[0] ?? '(no lb host)';
      const idle = `the idle one of ${web.join(' / ')}`;
      return [
        { step: 'find the idle colour', where: lb, does: `read ${String(env.vars.upstreamFile)}` },
        { step: 'resolve the ref', where: idle, does: `git fetch; git rev-parse ${String(params.ref)}^{commit}` },
        { step: 'install', where: idle, does: 'git checkout --detach <commit>; migrate --phase expand', undo: 'stop the app there' },
        { step: 'start', where: idle, does: (env.services.app?.reload ?? []).join(' '), undo: 'stop the app there' },
        { step: 'health-check', where: idle, does: `GET ${String(env.vars.healthPath)} serves <commit>` },
        ...(params.gate ? [{ gate: 'switch traffic', approvers: env.approvals.approvers, required: env.approvals.required }] : []),
        { step: 'switch traffic', where: lb, does: `point ${String(env.vars.upstreamName)} at the idle host; nginx -t; reload`, undo: 'point it back at the live host' },
        { step: 'check through the load balancer', where: lb, does: 'GET /health serves <commit>' },
        { step: 'rollback window', where: 'Temporal', does: `wait ${String(params['rollback-window'] ?? '10m')}` },
        { step: 'stop the old colour', where: 'the previously live host', does: (env.services.app?.stop ?? []).join(' ') },
      ];
    },
  },
  {
    name: 'migrate-then-code',
    workflow: 'migrateThenCode',
    description: 'a release that changes the schema: safety backup, expand migration under the old code, blue/green deploy, approval, contract migration',
    mutating: true,
    params: RELEASE_PARAMS,
    plan: (env, params) => {
      const db = Object.entries(env.hosts).find(([, h]) => h.roles.includes('db'))?.[0] ?? '(no db host)';
      const deployPlan = RUNBOOKS.find((r) => r.name === 'deploy')!.plan(env, params);
      return [
        ...deployPlan.slice(0, 2),
        { step: 'safety backup of the database', where: db, does: `pg_dump --format=custom ${String(env.vars.databaseName)}` },
        ...deployPlan.slice(2, 3),
        { step: 'check the old code on the expanded schema', where: 'lb', does: 'GET /health still serves the old commit' },
        ...deployPlan.slice(3),
        { gate: 'contract migration', approvers: env.approvals.approvers, required: env.approvals.required },
        { step: 'contract migration', where: 'the new live host', does: 'migrate (all pending, contract included)' },
        { step: 'check through the load balancer', where: 'lb', does: 'GET /health serves <commit>' },
      ];
    },
  },
  {
    name: 'provision',
    workflow: 'provision',
    description: 'brings a fresh Debian host to the known state: ops user, sshd hardening, firewall, fail2ban, unattended upgrades, packages, database, .env, app directory, process manager entry, nginx site; a second run changes nothing',
    mutating: true,
    params: [{ name: 'host', required: true, pattern: /^[a-z][a-z0-9-]{0,62}$/, description: "the inventory name of the host to provision (e.g. fresh)" }],
    check: (env, params) => {
      const host = String(params.host);
      if (!env.hosts[host]) return `no host ${JSON.stringify(host)} in environment ${env.environment} (hosts: ${Object.keys(env.hosts).join(', ')})`;
      if (!env.vars.provision) return `environment ${env.environment} has no vars.provision: nothing says what a provisioned host looks like`;
      return undefined;
    },
    plan: (env, params) => {
      const host = String(params.host);
      const p = (env.vars.provision ?? {}) as { opsUser?: string; openPorts?: number[]; packages?: string[] };
      const ops = p.opsUser ?? 'ops';
      return [
        { step: 'reach the host', where: host, does: `log in as ${ops} if it works, else as ${env.ssh.user}` },
        { step: 'ops user with SSH key and sudo', where: host, does: `useradd ${ops}; authorized_keys; /etc/sudoers.d (visudo -c)`, undo: 'remove what this run added' },
        { step: 'ops user can log in and sudo', where: host, does: `a new SSH login as ${ops}, then sudo -n` },
        { step: 'sshd: no root login, no passwords', where: host, does: 'sshd_config.d drop-in; sshd -t; reload', undo: 'put the previous file back; reload' },
        { step: 'firewall: only ssh, http, https', where: host, does: `ufw default deny; allow ${(p.openPorts ?? [22, 80, 443]).join(', ')}; enable`, undo: 'put the previous /etc/ufw and state back' },
        { step: 'fail2ban on sshd', where: host, does: 'jail.d/runbook-sshd.local; (re)start fail2ban', undo: 'previous jail; stop fail2ban if it was stopped' },
        { step: 'unattended security upgrades', where: host, does: 'apt.conf.d: security origins, no automatic reboot, mail root', undo: 'previous files' },
        { step: 'packages (versions recorded)', where: host, does: `apt-get install ${(p.packages ?? []).join(' ')}; versions in /var/lib/runbook/packages.txt` },
        { step: 'database and its user', where: host, does: `create role ${String(env.vars.databaseUser)} and database ${String(env.vars.databaseName)} if missing`, undo: 'drop what this run created' },
        { step: 'application directory', where: host, does: `user ${String(env.vars.appUser)}; ${String(env.vars.appDir)} mode 0750`, undo: 'remove what this run created' },
        { step: 'application .env from secrets', where: host, does: `${String(env.vars.appDir)}/.env mode 0600 (secrets resolved on the worker)`, undo: 'previous file' },
        { step: 'process manager entry', where: host, does: 'supervisor program app; supervisorctl update', undo: 'previous entry' },
        { step: 'nginx site', where: host, does: 'conf.d/app.conf; nginx -t; reload', undo: 'previous site; reload' },
        { step: 'verify services and ports', where: host, does: 'services running; ports answer from outside' },
      ];
    },
  },
  {
    name: 'backup',
    workflow: 'backup',
    description: 'pg_dump streamed to the backup store, checksummed, verified by restoring it into a scratch database and comparing row counts, then retention',
    // Retention deletes files a restore may be reading: one at a time per environment.
    mutating: true,
    params: [
      { name: 'daily', pattern: /^\d{1,3}$/, description: 'how many days keep their newest backup (default: inventory backupRetention.daily, else 7)' },
      { name: 'weekly', pattern: /^\d{1,3}$/, description: 'how many weeks keep their newest backup (default: inventory backupRetention.weekly, else 4)' },
    ],
    plan: (env, params) => {
      const db = Object.entries(env.hosts).find(([, h]) => h.roles.includes('db'))?.[0] ?? '(no db host)';
      const store = backupStoreText(env);
      const retention = env.vars.backupRetention as { daily?: number; weekly?: number } | undefined;
      return [
        { step: 'dump the database', where: `${db} → worker → ${store}`, does: `pg_dump --format=custom ${String(env.vars.databaseName)} streamed to <env>-<time>.dump with its sha256 and row counts`, undo: 'delete that backup' },
        { step: 'verify it in a scratch database', where: db, does: 'pg_restore into a scratch database streamed from the store; compare every table\'s row count; drop it', undo: 'drop the scratch database' },
        { step: 'apply retention', where: store, does: `keep the newest backup of the last ${String(params.daily ?? retention?.daily ?? 7)} days and ${String(params.weekly ?? retention?.weekly ?? 4)} weeks; delete the other scheduled ones` },
      ];
    },
  },
  {
    name: 'restore',
    workflow: 'restore',
    description: 'restore a backup: checksum, approval on protected environments, safety backup, maintenance page, restore into a fresh database, verify, swap it in, back to service',
    mutating: true,
    params: [{ name: 'backup', pattern: BACKUP_CHOICE, description: '"latest" (default) or a backup name such as prod-20261123T020000Z' }],
    plan: (env, params) => {
      const db = Object.entries(env.hosts).find(([, h]) => h.roles.includes('db'))?.[0] ?? '(no db host)';
      const lb = Object.entries(env.hosts).find(([, h]) => h.roles.includes('lb'))?.[0] ?? '(no lb host)';
      const store = backupStoreText(env);
      const database = String(env.vars.databaseName);
      return [
        { step: 'pick the backup', where: store, does: `${String(params.backup ?? 'latest')}` },
        { step: 'check its checksum', where: store, does: 'sha256sum of the dump equals the recorded one, or refuse' },
        ...(env.protected ? [{ gate: 'restore', approvers: env.approvals.approvers, required: env.approvals.required }] : []),
        { step: 'safety backup', where: `${db} → worker → ${store}`, does: `pg_dump --format=custom ${database} to <env>-<time>-safety.dump` },
        { step: 'maintenance on', where: lb, does: `touch ${String(env.vars.maintenanceFlag)}`, undo: 'remove it' },
        { step: 'restore into a fresh database', where: db, does: 'createdb; pg_restore streamed from the store', undo: 'drop that database' },
        { step: 'verify the restored row counts', where: db, does: 'count(*) of every table equals the backup\'s' },
        { step: 'swap the restored database in', where: db, does: `rename ${database} aside and the restored one to ${database}, in one transaction`, undo: 'swap the previous database back' },
        { step: 'verify the live row counts', where: db, does: `count(*) of every table of ${database} equals the backup's` },
        { step: 'maintenance off', where: lb, does: `rm ${String(env.vars.maintenanceFlag)}` },
        { step: 'check the app through the load balancer', where: lb, does: `GET ${String(env.vars.healthPath)} answers 200 with its database` },
        { step: 'drop the previous database', where: db, does: 'dropdb (its content is in the safety backup)' },
      ];
    },
  },
  {
    name: 'renew-certificate',
    workflow: 'renewCertificate',
    description: 'renews the TLS certificate of each domain that expires within the threshold (or --force) with certbot, installs it on the load balancer, checks nginx serves it; puts the previous one back on failure',
    mutating: true,
    params: [
      { name: 'force', boolean: true, description: 'renew even when the served certificate is not due' },
      { name: 'threshold', pattern: /^(?=.*[1-9])(?:\d+(?:ms|s|m|h|d))+$/, description: 'renew a certificate expiring within this long, e.g. 30d (default)' },
    ],
    plan: (env, params) => {
      const lb = Object.entries(env.hosts).find(([, h]) => h.roles.includes('lb'))?.[0] ?? '(no lb host)';
      const domains = Array.isArray(env.vars.domains) ? (env.vars.domains as string[]) : [];
      const tlsDir = String(env.vars.tlsDir);
      const when = params.force ? 'forced' : `if it expires within ${String(params.threshold ?? '30d')}`;
      return [
        { step: 'read the served certificates', where: lb, does: `TLS handshake on :443 with SNI ${domains.join(', ')}: expiry and fingerprint` },
        ...domains.flatMap((d): PlanItem[] => [
          { step: `obtain a certificate for ${d}`, where: lb, does: `${when}: certbot certonly --webroot -w ${String(env.vars.acmeWebroot)} --server ${String(env.vars.acmeDirectory)} -d ${d}` },
          { step: `check the new certificate for ${d}`, where: lb, does: 'names the domain, chain signed link by link, dates valid now, matches its key, differs from the served one' },
          { step: `install the new certificate for ${d}`, where: lb, does: `keep ${tlsDir}/${d}/{fullchain,privkey}.pem aside, copy certbot's pair there`, undo: 'put the previous pair back, nginx -t, reload' },
        ]),
        { step: 'nginx -t', where: lb, does: (env.services.nginx?.test ?? ['nginx', '-t']).join(' ') },
        { step: 'reload nginx', where: lb, does: (env.services.nginx?.reload ?? []).join(' ') },
        ...domains.map((d) => ({ step: `verify ${d} serves the new certificate`, where: lb, does: 'TLS handshake: the served fingerprint is the new one' })),
      ];
    },
  },
  {
    name: 'health-check',
    workflow: 'healthCheck',
    description: 'checks SSH, the app, HTTP/HTTPS through the load balancer and PostgreSQL on every host by role; alerts the webhook once when a check fails and once when it recovers (read-only: takes no lock)',
    mutating: false,
    params: [],
    plan: (env) => [
      { step: 'read what the last check alerted', where: 'Temporal', does: 'the result of the previous health-check run of this environment' },
      ...Object.entries(env.hosts).map(([name, h]) => ({
        step: `check ${name}`,
        where: name,
        does: [
          'ssh: a fresh login',
          ...(h.roles.includes('web') ? [`app: GET 127.0.0.1:${String(env.vars.appPort ?? 8000)}${String(env.vars.healthPath)} (live colour only)`] : []),
          ...(h.roles.includes('lb') ? [`http and https: GET ${String(env.vars.healthPath)} from the worker`] : []),
          ...(h.roles.includes('db') ? ['postgresql: pg_isready'] : []),
        ].join('; '),
      })),
      { step: 'alert', where: 'worker', does: env.vars.alertWebhook ? 'POST to vars.alertWebhook: checks newly failing, checks recovered' : 'no vars.alertWebhook set: alerts are only recorded' },
    ],
  },
];

function backupStoreText(env: Environment): string {
  const store = env.vars.backupStore as { host?: string; dir?: string } | undefined;
  return store?.host ? `${store.host}:${String(store.dir)}` : '(no backupStore in the inventory)';
}

export function findRunbook(name: string): RunbookSpec | undefined {
  return RUNBOOKS.find((r) => r.name === name);
}
