// The runbooks an operator can start: their parameters, whether they change an environment,
// and the plan a dry run prints. The CLI validates against this before anything runs.
import type { Environment } from './inventory';

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

export function findRunbook(name: string): RunbookSpec | undefined {
  return RUNBOOKS.find((r) => r.name === name);
}
