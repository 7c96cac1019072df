// The inventory's vars, each declared once: its JSON Schema (type, bounds, default, description),
// its shape in words and the runbooks that read it. From this one list come the TypeScript type
// `Vars` (no index signature: a var no one declared does not type-check), the `vars` part of
// the inventory's schema (src/inventory.ts: checked when the file is read, before anything
// runs; an unknown var is an error), the reference tables of docs/inventory.md and the
// published docs/inventory.schema.json (`npm run docs`, cli/docs.ts).
//
// A var read by one runbook only is declared here too: the schema must know every var to
// refuse a misspelt one. A var with a default is always present once the file is read; the
// others are optional, and a runbook that cannot do without one asks for it with
// `requiredVar`, which fails with `vars.<name> must be set`.
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../common/failure-types';
import { BACKUP_PARAMS } from '../runbooks/backup/definition';
import type { Environment } from './inventory';

/** A DNS name as it may appear in a path, a URL and on certbot's command line. */
export const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/;

/** The most hosts a fleet runbook changes at once. */
export const MAX_CONCURRENCY = 50;

// Shapes several vars share. Patterns are JSON Schema's (strings), tested with the `u` flag.
const PLAIN_PATH = '^/(?!.*\\.\\.)[A-Za-z0-9._/-]+$';
const USER_NOT_ROOT = '^(?!root$)[a-z_][a-z0-9_-]{0,31}$';
const SQL_NAME = '^[a-z_][a-z0-9_]{0,62}$';
const HOST_NAME = '^[a-z][a-z0-9-]{0,62}$';
const PORT = { type: 'integer', minimum: 1, maximum: 65535 } as const;
const argv = (description: string) =>
  ({ type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, description }) as const;
const path = (description: string) => ({ type: 'string', pattern: PLAIN_PATH, description }) as const;
const retention = (unit: 'daily' | 'weekly', description: string) => {
  const { min, max, default: value } = BACKUP_PARAMS[unit];
  return { type: 'integer', minimum: min, maximum: max, default: value, description } as const;
};

export interface VarDeclaration {
  /** The var's JSON Schema, with its `description` (shown by editors) and `default` if any. */
  schema: JsonSchema;
  /** Its type in words, for the docs (the schema's pattern is for machines). */
  shape: string;
  /** The runbooks that read it, for the docs. */
  readBy: string;
  /**
   * Read for each host with `hostVars` (src/inventory.ts): a group or a host may set it, over the
   * environment's. The others are read once for the environment, and a group or host may not set them.
   */
  perHost?: true;
}

/** The part of JSON Schema the declarations use, and `TypeOf` reads. */
export interface JsonSchema {
  type?: 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'object';
  description?: string;
  default?: unknown;
  pattern?: string;
  maxLength?: number;
  minLength?: number;
  minimum?: number;
  maximum?: number;
  items?: JsonSchema;
  minItems?: number;
  uniqueItems?: boolean;
  properties?: Readonly<Record<string, JsonSchema>>;
  required?: readonly string[];
  additionalProperties?: boolean;
}

export const VARS = {
  appPort: {
    schema: {
      ...PORT,
      default: 8000,
      description: 'the port the app listens on on each web host, and that the upstream points at',
    },
    shape: '1-65535',
    readBy: 'deploys, health-check, provision, the upstream',
  },
  healthPath: {
    schema: {
      type: 'string',
      pattern: '^/[\\x21-\\x7e]*$',
      maxLength: 200,
      default: '/health',
      description: "the app's health page ([app-contract.md](app-contract.md#health))",
    },
    shape: '`/...`',
    readBy: 'deploys, restores, health-check, rotate-db-password',
    perHost: true,
  },
  domains: {
    schema: {
      type: 'array',
      items: { type: 'string', pattern: DOMAIN.source },
      uniqueItems: true,
      default: [],
      description: 'the names the load balancer serves over TLS',
    },
    shape: 'list of DNS names',
    readBy: 'renew-certificate, provision',
  },
  acmeWebroot: {
    schema: {
      type: 'string',
      pattern: '^/[A-Za-z0-9._/-]*$',
      default: '/var/www/letsencrypt',
      description: "where certbot's HTTP-01 answers are written on the lb (`certbot certonly --webroot -w`)",
    },
    shape: 'absolute path',
    readBy: 'renew-certificate, provision',
  },
  appDir: {
    schema: path("the app's git checkout on each web host ([app-contract.md](app-contract.md#the-checkout))"),
    shape: 'absolute path, no `..`',
    readBy: 'deploys, migrations, provision, rotate-db-password',
  },
  appUser: {
    schema: {
      type: 'string',
      pattern: USER_NOT_ROOT,
      description:
        'runs git and the migrations in `appDir` (`runuser` as root, `sudo -n -u` otherwise); owns `appDir/.env`',
    },
    shape: 'user name, not root',
    readBy: 'deploys, migrations, provision, rotate-db-password',
  },
  migrate: {
    schema: argv('the migration command, run in `appDir` as `appUser` ([app-contract.md](app-contract.md#migrations))'),
    shape: 'argv',
    readBy: 'deploy, migrate-then-code, rolling-deploy',
  },
  databaseName: {
    schema: { type: 'string', pattern: SQL_NAME, description: "the app's database" },
    shape: 'plain lower-case name',
    readBy: 'backup, restore, migrate-then-code, rotate-db-password, provision',
  },
  databaseUser: {
    schema: { type: 'string', pattern: SQL_NAME, description: "the app's database role" },
    shape: 'plain lower-case name',
    readBy: 'rotate-db-password, provision',
  },
  databaseUrl: {
    schema: {
      type: 'string',
      pattern: '^postgres(ql)?://',
      description: "where `pg_isready` checks the database (its host and port; else the db host's address and 5432)",
    },
    shape: '`postgresql://...`',
    readBy: 'health-check',
  },
  dbAdmin: {
    schema: argv(
      'runs `psql`, `pg_dump`, `pg_restore` as the superuser on the db host, e.g. `[runuser, -u, postgres, --]`',
    ),
    shape: 'argv prefix',
    readBy: 'backup, restore, migrate-then-code, rotate-db-password',
  },
  upstreamFile: {
    schema: path('the nginx upstream file on the lb ([app-contract.md](app-contract.md#the-upstream-file))'),
    shape: 'absolute path',
    readBy: 'deploys, rolling-deploy, rotate-db-password, health-check',
  },
  upstreamName: {
    schema: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,100}$', description: "the upstream block's name in it" },
    shape: 'nginx name',
    readBy: 'deploys, rolling-deploy',
  },
  maintenanceFlag: {
    schema: path('a file on the lb whose existence makes nginx answer 503 with the maintenance page'),
    shape: 'absolute path',
    readBy: 'restore, restore-previous',
  },
  fleetConcurrency: {
    schema: {
      type: 'integer',
      minimum: 1,
      maximum: MAX_CONCURRENCY,
      default: 10,
      description: 'hosts changed at once within a colour or a batch ([fleets.md](fleets.md))',
    },
    shape: `1-${MAX_CONCURRENCY}`,
    readBy: 'deploys, rolling-deploy, run-command',
  },
  acmeDirectory: {
    schema: {
      type: 'string',
      pattern: '^https?://',
      description: "the ACME server (Let's Encrypt in production, Pebble on the test bed)",
    },
    shape: 'URL',
    readBy: 'renew-certificate',
  },
  prometheusUrl: {
    schema: {
      type: 'string',
      pattern: '^https?://[^\\s]+$',
      maxLength: 500,
      description:
        "the environment's Prometheus, where the declared `analyses` and `alarms` are queried (`/api/v1/query`); " +
        'on the test bed `http://10.213.0.1:9090`',
    },
    shape: 'URL',
    readBy: 'rolling-deploy (`--analysis`) and every runbook an alarm watches (alarms)',
  },
  acmeCaBundle: {
    schema: path("the ACME server's CA, as `REQUESTS_CA_BUNDLE` for certbot, when it is not a public one"),
    shape: 'path on the hosts',
    readBy: 'renew-certificate',
  },
  acmeEmail: {
    schema: {
      type: 'string',
      pattern: '^[^\\s@]+@[^\\s@]+$',
      description: "the ACME account's e-mail (`--register-unsafely-without-email` when unset)",
    },
    shape: 'e-mail address',
    readBy: 'renew-certificate',
  },
  tlsDir: {
    schema: path('nginx serves `<tlsDir>/<domain>/fullchain.pem` and `privkey.pem`'),
    shape: 'absolute path',
    readBy: 'renew-certificate',
  },
  backupStore: {
    schema: {
      type: 'object',
      additionalProperties: false,
      required: ['host', 'dir'],
      properties: {
        host: { type: 'string', pattern: HOST_NAME, description: 'a host of the inventory, not the db host' },
        dir: {
          type: 'string',
          // Absolute, not `/`, no `.` or `..` part.
          pattern: '^(?!/+$)/(?!(?:.*/)?\\.\\.?(?:/|$))[A-Za-z0-9._/-]*$',
          description: 'the absolute directory on it',
        },
      },
      description:
        'the host (another than the db host) and absolute directory backups are streamed to ([backups.md](backups.md))',
    },
    shape: '`{ host, dir }`',
    readBy: 'backup, restore',
  },
  backupRetention: {
    schema: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        daily: retention('daily', 'how many days keep their newest backup'),
        weekly: retention('weekly', 'how many weeks keep their newest backup'),
      },
      description: 'the default of `--daily` and `--weekly`',
    },
    shape: `\`{ daily, weekly }\`, ${BACKUP_PARAMS.daily.default} and ${BACKUP_PARAMS.weekly.default}`,
    readBy: 'backup',
  },
  alertWebhook: {
    schema: {
      type: 'string',
      pattern: '^(https?://|\\$\\{)',
      description:
        'where its alerts are POSTed ([certificates-and-health-checks.md](certificates-and-health-checks.md))',
    },
    shape: '`http(s)://...`, `${VAR}` expanded on the worker',
    readBy: 'health-check',
  },
  provision: {
    schema: {
      type: 'object',
      additionalProperties: false,
      required: ['opsUser', 'opsPublicKey', 'packages'],
      properties: {
        opsUser: {
          type: 'string',
          pattern: '^(?!root$)[a-z_][a-z0-9_-]{0,30}$',
          description: 'the user created with the public key and sudo; then root and password logins are turned off',
        },
        opsPublicKey: {
          type: 'string',
          minLength: 1,
          description: 'path on the worker of one OpenSSH public key (`ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-*`)',
        },
        packages: {
          type: 'array',
          items: { type: 'string', pattern: '^[a-z0-9][a-z0-9+.-]{1,100}$' },
          description: 'Debian packages installed, their versions recorded',
        },
        openPorts: {
          type: 'array',
          items: PORT,
          default: [22, 80, 443],
          description: 'the only ports the firewall lets in; must include 22',
        },
        checkPorts: {
          type: 'array',
          items: PORT,
          default: [22, 80],
          description: 'must answer from outside once provisioned',
        },
        trustedAddresses: {
          type: 'array',
          items: { type: 'string', pattern: '^[0-9a-fA-F.:/]{2,49}$' },
          default: [],
          description: "addresses fail2ban never bans, besides the worker's own (a bastion, say)",
        },
        services: {
          type: 'array',
          items: { type: 'string', pattern: '^[a-z0-9][a-z0-9@._-]*$' },
          default: ['ssh', 'nginx', 'postgresql', 'supervisor', 'fail2ban'],
          description: 'Debian services that must run once provisioned',
        },
        databaseHost: {
          type: 'string',
          pattern: '^[A-Za-z0-9][A-Za-z0-9.:-]*$',
          default: '127.0.0.1',
          description: 'the database host written into `DATABASE_URL` in the `.env`',
        },
        databasePasswordSecret: {
          type: 'string',
          pattern: '^[A-Za-z][A-Za-z0-9_]*$',
          default: 'dbPassword',
          description: "the secret whose value is the app's database password",
        },
      },
      description: 'what a provisioned host is ([below](#provision))',
    },
    shape: 'object',
    readBy: 'provision',
  },
  repo: {
    schema: {
      type: 'string',
      description: "the app's repository, for people: deploys fetch from the checkout's `origin`",
    },
    shape: 'string',
    readBy: 'no runbook',
  },
  defaultRef: {
    schema: { type: 'string', description: 'a ref to suggest, for people: `--ref` has no default' },
    shape: 'string',
    readBy: 'no runbook',
  },
} as const satisfies Record<string, VarDeclaration>;

/** The TypeScript type a JSON Schema of the declarations describes. */
export type TypeOf<S> = S extends { type: 'string' }
  ? string
  : S extends { type: 'integer' | 'number' }
    ? number
    : S extends { type: 'boolean' }
      ? boolean
      : S extends { type: 'array'; items: infer I }
        ? TypeOf<I>[]
        : S extends { type: 'object'; properties: infer P }
          ? ObjectOf<P, S extends { required: readonly (infer R)[] } ? R : never>
          : unknown;

/** The keys of `P` always present once read: required, or filled in by their default. */
type Present<P, R> = { [K in keyof P]: K extends R ? K : P[K] extends { default: unknown } ? K : never }[keyof P];

type ObjectOf<P, R> = { [K in Present<P, R>]: TypeOf<P[K]> } & {
  [K in Exclude<keyof P, Present<P, R>>]?: TypeOf<P[K]>;
};

type Flat<T> = { [K in keyof T]: T[K] };

type Declared = typeof VARS;

/** The environment's vars as read: those with a default always there, the others optional. */
export type Vars = Flat<ObjectOf<{ [K in keyof Declared]: Declared[K]['schema'] }, never>>;

export type VarName = keyof Vars;

/** The `vars` part of the inventory's JSON Schema. */
export function varsSchema(): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    default: {},
    description: 'Variables the runbooks read (docs/inventory.md#vars)',
    properties: Object.fromEntries(Object.entries(VARS).map(([name, v]) => [name, v.schema])),
  };
}

/** The shape a var must have, in words: said with the schema's error when a value is refused. */
export function varShape(name: string): string | undefined {
  return (VARS as Record<string, VarDeclaration>)[name]?.shape;
}

/**
 * A var the caller cannot do without, with its declared type (its shape was checked when the
 * inventory was read); unset, a non-retryable inventory error naming it.
 */
export function requiredVar<K extends VarName>(env: Environment, name: K): NonNullable<Vars[K]> {
  const value = env.vars[name];
  if (value === undefined || value === null)
    throw ApplicationFailure.nonRetryable(`${env.environment}: vars.${name} must be set`, FailureType.BadInventory);
  return value;
}

/** A schema without its defaults (in its properties and items too). */
function withoutDefaults(schema: JsonSchema): JsonSchema {
  const { items, properties, ...rest } = schema;
  delete rest.default;
  return {
    ...rest,
    ...(items ? { items: withoutDefaults(items) } : {}),
    ...(properties
      ? { properties: Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, withoutDefaults(s)])) }
      : {}),
  };
}

/** The vars a group or a host may set: those read for each host. */
export const PER_HOST_VARS = Object.entries(VARS as Record<string, VarDeclaration>)
  .filter(([, v]) => v.perHost)
  .map(([name]) => name);

/**
 * The `vars` of a group or a host: the same declarations as the environment's, those read per
 * host only, without their defaults: only what a group or host says overrides the environment's.
 */
export function overrideVarsSchema(): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    description: `Over the environment's vars for these hosts: ${PER_HOST_VARS.join(', ')} (docs/inventory.md#groups)`,
    properties: Object.fromEntries(
      PER_HOST_VARS.map((name) => [name, withoutDefaults((VARS as Record<string, VarDeclaration>)[name].schema)]),
    ),
  };
}

/** The vars a host reads of its own, as `hostVars` returns them. */
export type HostVars = Pick<Vars, 'healthPath'>;
