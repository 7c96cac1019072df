// Environments: hosts with roles, variables, secrets (by reference) and the approval policy,
// read from inventory/<env>.yaml and validated before anything runs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { cacheDir, inventoryDirs } from './config';
import { parseDuration } from '../common/duration';
import { FAILURE_POLICIES, type ApprovalPolicy, type FailurePolicy } from '../common/shared';
import type { IdentityMode } from '../common/signed-message';
import { NOTICE_EVENTS, NOTICE_FORMATS, type NoticeEvent, type NoticeFormat } from '../common/notice';
import { loadPeople, PEOPLE_FILE, PeopleError } from './identity/people';
import { MAX_GATE_WAIT_MS } from './policy';
import { ANALYSES_SCHEMA, checkAnalyses, type Analysis } from './analysis/declared';
import { checkFreezes, FREEZES_SCHEMA, type Freezes } from './freeze';
import { ALARMS_SCHEMA, checkAlarms, unknownRunbooks, type Alarms } from './alarms';
import { ROLE_NAMES, ROLES, type Role } from '../common/roles';
import { overrideVarsSchema, PER_HOST_VARS, varShape, varsSchema, type HostVars, type Vars } from './vars';
import { groupHosts } from '../common/host-selector';

export { DOMAIN } from './vars';
export type { Vars } from './vars';

export interface Host {
  address: string;
  roles: Role[];
  colour?: 'blue' | 'green';
  /** Over the environment's `ssh.port`. */
  port?: number;
  /** Over the environment's `ssh.user`. */
  user?: string;
  /** Over the environment's `ssh.jump`; `none` reaches this host directly. */
  jump?: JumpHost | 'none';
  /** Over its groups' vars and the environment's (`hostVars`): only vars read per host. */
  vars?: Partial<HostVars>;
}

/** Hosts named together (Ansible's groups): its own hosts, those of its children, and vars for them all. */
export interface Group {
  hosts: string[];
  /** Groups whose hosts are this group's too. */
  children: string[];
  /** Over the environment's vars for these hosts, under a child group's and the host's own. */
  vars: Partial<HostVars>;
}

/** A host the worker reaches others through (OpenSSH's ProxyJump); its key is in known_hosts too. */
export interface JumpHost {
  address: string;
  /** Default 22. */
  port?: number;
  /** Default the environment's `ssh.user`. */
  user?: string;
}

/** The key file used where the inventory names neither a key nor an agent. */
export const DEFAULT_PRIVATE_KEY = '~/.ssh/id_ed25519';

/** How the worker logs in to the environment's hosts (docs/ssh.md). */
export interface SshSettings {
  user: string;
  /** A key file; default DEFAULT_PRIVATE_KEY unless `agent` is set. */
  privateKey?: string;
  /** An ssh-agent's socket, e.g. `${SSH_AUTH_SOCK}`: its keys are offered (after `privateKey`'s, if set). */
  agent?: string;
  knownHosts: string;
  port?: number;
  /** Every host is reached through this one, unless the host says otherwise. */
  jump?: JumpHost;
  /** `openssh`: OpenSSH's own client (host certificates); default `ssh2` (docs/ssh.md). */
  transport: 'ssh2' | 'openssh';
}

export interface Service {
  hosts: string[];
  start?: string[];
  stop?: string[];
  reload?: string[];
  status?: string[];
  test?: string[];
  alreadyStopped?: number[];
}

/**
 * What a secret is for, where a runbook must not take just any secret: rotate-db-password puts
 * its value into every web host's .env and onto PostgreSQL, so it takes only a secret marked
 * `use: database-password` (an API token named by mistake or by intent would end up there).
 */
export const SECRET_USES = ['database-password'] as const;
export type SecretUse = (typeof SECRET_USES)[number];

export type SecretRef = ({ file: string } | { env: string } | { command: string[] }) & { use?: SecretUse };

export interface Environment {
  environment: string;
  description?: string;
  protected: boolean;
  /** `signed`: starts and decisions must be signed with an SSH key of people.yaml; default where protected. */
  identity: IdentityMode;
  approvals: { required: number; approvers: string[]; timeout: string; webhook?: string };
  /** What a failed step does by default: roll back (compensate) or wait for a decision (ask). */
  onFailure: FailurePolicy;
  /** What parameters may ask before they are beyond bounds (destructive): approved by a person where protected. */
  bounds: Bounds;
  ssh: SshSettings;
  hosts: Record<string, Host>;
  /** Free-form names for sets of hosts, nested; `--hosts` takes them (common/host-selector.ts). */
  groups: Record<string, Group>;
  services: Record<string, Service>;
  vars: Vars;
  secrets: Record<string, SecretRef>;
  /** Named analyses a release is judged by (src/analysis/declared.ts); a run picks one by name. */
  analyses: Record<string, Analysis>;
  /** When mutating runs may not start (src/freeze.ts), and which runbooks keep running. */
  freezes: Freezes;
  /** PromQL alarms that stop runs while they fire (src/alarms.ts), read on vars.prometheusUrl. */
  alarms: Alarms;
  /** Where notices go (docs/notifications.md): each target's URL is one of `secrets`, never written here. */
  notify: NotifyTarget[];
}

export interface NotifyTarget {
  /** The secret holding the webhook's URL (its token is in it). */
  secret: string;
  format: NoticeFormat;
  /** The events it is sent; absent: all of them. */
  events?: NoticeEvent[];
}

/** The names of the environment's secrets marked for `use`. */
export function secretsFor(env: Environment, use: SecretUse): string[] {
  return Object.keys(env.secrets).filter((name) => env.secrets[name].use === use);
}

export interface Bounds {
  /** Backup retention a run may ask (--daily, --weekly) without approval; default the inventory's backupRetention. */
  retentionFloor?: { daily?: number; weekly?: number };
  /** The rollback window a release may ask (--rollback-window), as durations. */
  rollbackWindow: { min: string; max: string };
}

export const ENV_NAME = /^[a-z][a-z0-9-]{0,39}$/;
const NAME = '^[a-z][a-z0-9-]{0,62}$';
/** A group's name: a host's, or with underscores (`web_eu`); not `role` (the selector's `role:`). */
const GROUP_NAME = '^(?!role$)[a-z][a-z0-9_-]{0,62}$';
const argv = { type: 'array', items: { type: 'string' }, minItems: 1 };
/** A secret's `use` (SECRET_USES). */
const use = { enum: [...SECRET_USES] };
const ADDRESS = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9.:-]*$', maxLength: 253 };
const PORT = { type: 'integer', minimum: 1, maximum: 65535 };
const USER = { type: 'string', pattern: '^[a-z_][a-z0-9_-]{0,31}$' };
const JUMP = {
  type: 'object',
  additionalProperties: false,
  required: ['address'],
  properties: { address: ADDRESS, port: PORT, user: USER },
};

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['environment', 'hosts'],
  properties: {
    environment: { type: 'string', pattern: ENV_NAME.source },
    description: { type: 'string' },
    protected: { type: 'boolean', default: false },
    identity: { enum: ['signed', 'typed'] },
    approvals: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        required: { type: 'integer', minimum: 1, default: 1 },
        approvers: { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true, default: [] },
        timeout: { type: 'string', default: '1h' },
        // POSTed a JSON notice when a gate opens; may use ${VAR}, expanded on the worker.
        webhook: { type: 'string', pattern: '^(https?://|\\$\\{)' },
      },
    },
    notify: {
      type: 'array',
      default: [],
      maxItems: 10,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['secret', 'format'],
        properties: {
          secret: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_]*$' },
          format: { enum: [...NOTICE_FORMATS] },
          events: { type: 'array', items: { enum: [...NOTICE_EVENTS] }, uniqueItems: true, minItems: 1 },
        },
      },
    },
    // A run's `--on-failure` overrides it; `ask` gates wait as long as approvals do.
    onFailure: { enum: [...FAILURE_POLICIES], default: 'compensate' },
    ssh: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        user: { ...USER, default: 'root' },
        privateKey: { type: 'string', minLength: 1 },
        agent: { type: 'string', minLength: 1 },
        knownHosts: { type: 'string', minLength: 1, default: '~/.ssh/known_hosts' },
        port: PORT,
        jump: JUMP,
        transport: { enum: ['ssh2', 'openssh'], default: 'ssh2' },
      },
    },
    hosts: {
      type: 'object',
      minProperties: 1,
      propertyNames: { pattern: NAME },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['address'],
        properties: {
          address: ADDRESS,
          roles: {
            type: 'array',
            items: { enum: ROLE_NAMES },
            uniqueItems: true,
            default: [],
            description: Object.entries(ROLES)
              .map(([role, what]) => `${role}: ${what}`)
              .join('; '),
          },
          colour: { enum: ['blue', 'green'] },
          port: PORT,
          user: USER,
          jump: { oneOf: [JUMP, { const: 'none' }] },
          vars: overrideVarsSchema(),
        },
      },
    },
    groups: {
      type: 'object',
      default: {},
      propertyNames: { pattern: GROUP_NAME },
      description: 'named sets of hosts (docs/inventory.md#groups)',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          hosts: { type: 'array', items: { type: 'string' }, uniqueItems: true, default: [] },
          children: { type: 'array', items: { type: 'string' }, uniqueItems: true, default: [] },
          vars: { ...overrideVarsSchema(), default: {} },
        },
      },
    },
    services: {
      type: 'object',
      default: {},
      propertyNames: { pattern: NAME },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['hosts'],
        properties: {
          hosts: { type: 'array', items: { type: 'string' }, minItems: 1 },
          start: argv,
          stop: argv,
          reload: argv,
          status: argv,
          test: argv,
          // Exit codes of `stop` that mean it was not running (e.g. supervisorctl: 1, and 7
          // when supervisord itself is down, which stopped its programs).
          alreadyStopped: { type: 'array', items: { type: 'integer' } },
        },
      },
    },
    bounds: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        retentionFloor: {
          type: 'object',
          additionalProperties: false,
          properties: { daily: { type: 'integer', minimum: 0 }, weekly: { type: 'integer', minimum: 0 } },
        },
        rollbackWindow: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: { min: { type: 'string', default: '1m' }, max: { type: 'string', default: '1d' } },
        },
      },
    },
    vars: varsSchema(),
    analyses: ANALYSES_SCHEMA,
    freezes: FREEZES_SCHEMA,
    alarms: ALARMS_SCHEMA,
    secrets: {
      type: 'object',
      default: {},
      propertyNames: { pattern: '^[A-Za-z][A-Za-z0-9_]*$' },
      additionalProperties: {
        oneOf: [
          {
            type: 'object',
            additionalProperties: false,
            required: ['file'],
            properties: { file: { type: 'string' }, use },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['env'],
            properties: { env: { type: 'string' }, use },
          },
          { type: 'object', additionalProperties: false, required: ['command'], properties: { command: argv, use } },
        ],
      },
    },
  },
};

const validate = new Ajv({ allErrors: true, useDefaults: true }).compile(schema);

/** The schema published for editors (docs/inventory.schema.json, written by `npm run docs`). */
export function inventorySchema(): object {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'A runbook environment (docs/inventory.md)',
    ...schema,
  };
}

/** The names of the hosts that have `role`, in the order the inventory lists them. */
export function hostsWithRole(env: Environment, role: Role): string[] {
  return Object.entries(env.hosts)
    .filter(([, h]) => h.roles.includes(role))
    .map(([name]) => name);
}

/** What is wrong with an inventory file: `problems` lists each thing, the message the first few. */
export class InventoryError extends Error {
  constructor(
    message: string,
    readonly problems: string[] = [message],
  ) {
    super(message);
  }
}

/** Throws every problem found in `file`, if any; the message names the first few. */
function refuseIfAny(file: string, problems: string[]): void {
  if (!problems.length) return;
  throw new InventoryError(
    `${file}: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}`,
    problems.map((p) => `${file}: ${p}`),
  );
}

const parsed = new Map<string, { mtimeMs: number; env: Environment }>();

export function listEnvironments(dirs = inventoryDirs()): string[] {
  const names = dirs
    .flatMap((dir) => (fs.existsSync(dir) ? fs.readdirSync(dir) : []))
    .filter((f) => /\.ya?ml$/.test(f) && f !== PEOPLE_FILE)
    .map((f) => f.replace(/\.ya?ml$/, ''));
  return [...new Set(names)].sort();
}

export function loadEnvironment(name: string, dirs = inventoryDirs()): Environment {
  if (!ENV_NAME.test(name))
    throw new InventoryError(`invalid environment name ${JSON.stringify(name)}: lower-case letters, digits and dashes`);
  if (`${name}.yaml` === PEOPLE_FILE) throw new InventoryError(`${PEOPLE_FILE} lists people, not an environment`);
  const file = dirs
    .flatMap((dir) => ['yaml', 'yml'].map((ext) => path.join(dir, `${name}.${ext}`)))
    .find((f) => fs.existsSync(f));
  if (!file) {
    const known = listEnvironments(dirs);
    throw new InventoryError(
      `unknown environment ${JSON.stringify(name)} ` +
        `(known: ${known.join(', ') || 'none'}; inventory: ${dirs.join(':')})`,
    );
  }
  // Activities ask for their environment on every call: parse and validate a file once per change.
  const { mtimeMs } = fs.statSync(file);
  const cached = parsed.get(file);
  if (cached && cached.mtimeMs === mtimeMs) return cached.env;
  const env = parseEnvironment(fs.readFileSync(file, 'utf8'), file, name);
  if (env.identity === 'signed') checkSigners(env, file, dirs);
  parsed.set(file, { mtimeMs, env });
  return env;
}

export function parseEnvironment(text: string, file: string, expectedName?: string): Environment {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new InventoryError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!validate(doc)) refuseIfAny(file, formatErrors(validate.errors ?? []));
  const env = doc as unknown as Environment;
  const problems: string[] = [];
  /** Runs one check; its error is one problem of the file, and the others are still checked. */
  const check = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      problems.push((err as Error).message);
    }
  };
  // Four eyes on a protected environment are two people proven by their keys, not two names typed.
  if (env.protected && env.identity === 'typed') {
    problems.push(
      'a protected environment takes signed identity only (starts and approvals signed with ' +
        `people.yaml's SSH keys): remove "identity: typed", or set "protected: false"`,
    );
  }
  env.identity ??= env.protected ? 'signed' : 'typed';
  if (expectedName && env.environment !== expectedName)
    problems.push(`says environment ${JSON.stringify(env.environment)}, expected ${JSON.stringify(expectedName)}`);
  for (const [service, { hosts }] of Object.entries(env.services)) {
    const unknown = hosts.filter((h) => !(h in env.hosts));
    if (unknown.length) problems.push(`service ${service} names unknown hosts: ${unknown.join(', ')}`);
  }
  problems.push(...groupProblems(env));
  check(() => parseDuration(env.approvals.timeout, 'approvals.timeout', MAX_GATE_WAIT_MS));
  check(() => {
    const window = env.bounds.rollbackWindow;
    const [min, max] = [window.min, window.max].map((d, i) =>
      parseDuration(d, `bounds.rollbackWindow.${['min', 'max'][i]}`),
    );
    if (min > max) throw new Error(`bounds.rollbackWindow.min ${window.min} is longer than its max ${window.max}`);
  });
  check(() => checkAnalyses(env.analyses));
  check(() => checkFreezes(env.freezes));
  check(() => checkAlarms(env.alarms, env.vars.prometheusUrl as string | undefined));
  const store = env.vars.backupStore;
  if (store && !(store.host in env.hosts)) problems.push(`vars.backupStore.host names unknown host ${store.host}`);
  for (const target of env.notify) {
    if (!(target.secret in env.secrets))
      problems.push(
        `notify names secret ${target.secret}, which secrets does not define (a webhook's URL is a secret)`,
      );
  }
  if (env.approvals.required > Math.max(env.approvals.approvers.length, 1)) {
    problems.push(
      `approvals.required is ${env.approvals.required} ` +
        `but only ${env.approvals.approvers.length} approvers are listed`,
    );
  }
  refuseIfAny(file, problems);
  return env;
}

/** What is wrong with the groups: unknown hosts and children, a name that is a host's, a cycle. */
function groupProblems(env: Environment): string[] {
  const problems: string[] = [];
  const groups = Object.keys(env.groups);
  for (const [name, group] of Object.entries(env.groups)) {
    if (name in env.hosts) problems.push(`group ${name} has the name of a host: --hosts ${name} would mean either`);
    const hosts = group.hosts.filter((h) => !(h in env.hosts));
    if (hosts.length) problems.push(`group ${name} names unknown hosts: ${hosts.join(', ')}`);
    const children = group.children.filter((c) => !(c in env.groups));
    if (children.length)
      problems.push(
        `group ${name} names unknown groups as children: ${children.join(', ')} (groups: ${groups.join(', ')})`,
      );
  }
  // A cycle: a group reached again from itself through its children. Each cycle said once.
  const said = new Set<string>();
  const walk = (name: string, path: string[]): void => {
    if (path.includes(name)) {
      const cycle = path.slice(path.indexOf(name));
      const key = [...cycle].sort().join(',');
      if (!said.has(key)) {
        said.add(key);
        problems.push(`groups form a cycle: ${[...cycle, name].join(' → ')}`);
      }
      return;
    }
    for (const child of env.groups[name]?.children ?? []) walk(child, [...path, name]);
  };
  for (const name of groups) walk(name, []);
  return problems;
}

/** How deep a group is: 0 for one no group has as a child, else one more than its deepest parent. */
function groupDepth(env: Environment, name: string, seen: string[] = []): number {
  const parents = Object.keys(env.groups).filter((g) => env.groups[g].children.includes(name) && !seen.includes(g));
  return parents.length ? 1 + Math.max(...parents.map((p) => groupDepth(env, p, [...seen, name]))) : 0;
}

/** The groups `host` is in (itself or through a child), in the order their vars apply: parents first, then by name. */
export function groupsOf(env: Environment, host: string): string[] {
  return Object.keys(env.groups)
    .filter((g) => groupHosts(env, g).has(host))
    .map((g) => ({ g, depth: groupDepth(env, g) }))
    .sort((a, b) => a.depth - b.depth || (a.g < b.g ? -1 : a.g > b.g ? 1 : 0))
    .map(({ g }) => g);
}

/**
 * A host's vars: the environment's, under those of its groups (a parent's under its child's,
 * groups of one depth by name, the later winning), under the host's own. Only the vars read per
 * host (`perHost` in src/vars.ts) may be set on a group or a host; the others are the environment's.
 */
export function hostVars(env: Environment, host: string): Vars {
  const layers = [...groupsOf(env, host).map((g) => env.groups[g].vars), env.hosts[host]?.vars ?? {}];
  return Object.assign({}, env.vars, ...layers) as Vars;
}

/** A signed environment whose approvers cannot sign would wait at every gate for nothing. */
function checkSigners(env: Environment, file: string, dirs: string[]): void {
  let people;
  try {
    people = loadPeople(dirs);
  } catch (err) {
    if (err instanceof PeopleError) throw new InventoryError(err.message);
    throw err;
  }
  const missing = env.approvals.approvers.filter((a) => !people.has(a));
  if (missing.length) {
    throw new InventoryError(
      `${file}: identity is signed, but approvers ${missing.join(', ')} have no keys in ${PEOPLE_FILE}`,
    );
  }
}

function formatErrors(errors: ErrorObject[]): string[] {
  return errors.map((e) => {
    const at = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '(top level)';
    if (e.keyword === 'additionalProperties') {
      const known =
        e.instancePath === '/vars'
          ? ' (the vars runbooks read: docs/inventory.md#vars)'
          : /\/vars$/.test(e.instancePath)
            ? ` (a group or host may set ${PER_HOST_VARS.join(', ')}: docs/inventory.md#groups)`
            : '';
      return `${at}: unknown key ${JSON.stringify(e.params.additionalProperty)}${known}`;
    }
    // A var's shape in words says more than its pattern (a var's value, or an item of a list).
    const name = /(?:^|\/)vars\/(\w+)(?:\/\d+)?$/.exec(e.instancePath)?.[1];
    const shape = name && e.keyword !== 'required' ? varShape(name) : undefined;
    return `${at}: ${e.message}${shape ? ` (expected ${shape})` : ''}`;
  });
}

export function approvalPolicy(env: Environment, timeoutOverride?: number): ApprovalPolicy {
  return {
    required: env.approvals.required,
    approvers: env.approvals.approvers,
    timeoutMs: timeoutOverride ?? parseDuration(env.approvals.timeout),
  };
}

/** Expands ~ and ${RUNBOOK_CACHE_DIR} (and other set variables) in inventory paths. */
export function expandPath(p: string): string {
  const vars: Record<string, string | undefined> = { ...process.env, RUNBOOK_CACHE_DIR: cacheDir() };
  const expanded = p.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, v: string) => {
    const value = vars[v];
    if (value === undefined) throw new InventoryError(`path ${p} uses \${${v}}, which is not set`);
    return value;
  });
  return expanded.startsWith('~/') ? path.join(process.env.HOME ?? '/', expanded.slice(2)) : expanded;
}

/** Every problem of every environment of the inventory (and of people.yaml), each on its own. */
export function inventoryProblems(
  dirs = inventoryDirs(),
  runbooks?: string[],
): { environments: string[]; problems: string[] } {
  const environments = listEnvironments(dirs);
  const problems: string[] = [];
  for (const name of environments) {
    try {
      const env = loadEnvironment(name, dirs);
      // Names no runbook has (the inventory does not know the runbooks; the caller does).
      if (runbooks) problems.push(...unknownRunbooks(env.alarms, runbooks).map((p) => `${name}: ${p}`));
    } catch (err) {
      if (!(err instanceof InventoryError)) throw err;
      // A people.yaml problem is the same for every signed environment: said once.
      for (const p of err.problems) if (!problems.includes(p)) problems.push(p);
    }
  }
  return { environments, problems };
}
