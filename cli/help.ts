// What the CLI says about itself, from one description: the commands (their synopsis and what
// they do), the options every `start` takes (also its parse options), and each runbook's
// parameters from its declaration. `runbook --help`, `runbook start <runbook> --help` and
// docs/runbooks.md (dev/runbook-docs.ts) are views of it.
import { defaultText, flagOf, typeText, valueHint, type Param } from '../common/params';
import { RUNBOOKS, type RunbookSpec } from '../src/runbooks';

export interface OptionDoc {
  type: 'string' | 'boolean';
  /** The value's placeholder in usage lines, e.g. `<env>`. */
  value?: string;
  description: string;
}

/** The options of `runbook start`, beyond the runbook's parameters and the signing options. */
export const START_OPTIONS = {
  env: { type: 'string', value: '<env>', description: 'the environment (inventory/<env>.yaml); required' },
  as: { type: 'string', value: '<you>', description: 'who starts it (default: RUNBOOK_USER, else your login)' },
  'approval-timeout': {
    type: 'string',
    value: '<duration>',
    description: "how long a gate waits: at most the environment's",
  },
  approvals: { type: 'string', value: '<n>', description: "approvals each gate needs: at least the environment's" },
  'on-failure': {
    type: 'string',
    value: 'compensate|ask',
    description: "on a failed step: roll back at once, or ask an approver (default: the environment's)",
  },
  'failure-timeout': {
    type: 'string',
    value: '<duration>',
    description: 'how long a failure gate waits before rolling back (at most the approval timeout)',
  },
  'wait-for-window': {
    type: 'boolean',
    description: 'in a freeze window: wait for it to open instead of being refused',
  },
  'break-glass': {
    type: 'string',
    value: '<reason>',
    description: 'in a freeze window: go with two signed approvals of approvers other than you, and a reason',
  },
  'dry-run': {
    type: 'boolean',
    description: 'the worker walks the runbook in plan mode: its reads run, nothing changes; prints the plan and rules',
  },
  follow: { type: 'boolean', description: 'follow the run until it ends (as runbook watch)' },
  json: { type: 'boolean', description: 'JSON output' },
} as const satisfies Record<string, OptionDoc>;

export interface CommandDoc {
  name: string;
  /** One line each: what follows `runbook` (the first names the command). */
  synopsis: string[];
  summary: string;
}

/** Every command, in the order help lists them. cli/commands.ts runs them (a test holds the two equal). */
export const COMMAND_DOCS: CommandDoc[] = [
  {
    name: 'start',
    synopsis: [
      'start <runbook> --env <env> [--<param> <value> ...] [--as <you>] [--approval-timeout 30m] [--approvals N]',
      '      [--on-failure compensate|ask] [--failure-timeout 30m] [--dry-run] [--follow] [--json]',
      '      [--wait-for-window | --break-glass "<reason>"]   (in a freeze window: wait, or two signed approvals)',
    ],
    summary: 'start a runbook (runbook start <runbook> --help: its parameters)',
  },
  { name: 'status', synopsis: ['status <run id> [--json]'], summary: 'where a run is' },
  {
    name: 'approve',
    synopsis: ['approve <run id> --as <approver> [--comment <text>] [--json]'],
    summary: 'approve a run waiting at a gate',
  },
  {
    name: 'reject',
    synopsis: ['reject <run id> --as <approver> --comment <why> [--json]'],
    summary: 'reject it: the run undoes what it did',
  },
  { name: 'cancel', synopsis: ['cancel <run id> [--json]'], summary: 'cancel a run: its completed steps are undone' },
  {
    name: 'list',
    synopsis: ['list [--env <env>] [--runbook <name>] [--state <state>] [--limit N] [--json]'],
    summary: 'the runs, newest first',
  },
  {
    name: 'watch',
    synopsis: ['watch <run id> [--json]'],
    summary:
      'follow it until it ends; exit 0 completed, 1 not, 4 refused, 5 left to undo by hand, 6 settled then failed',
  },
  {
    name: 'history',
    synopsis: ['history <run id> [--json]'],
    summary: 'the audit trail, also after the run closed',
  },
  {
    name: 'retry',
    synopsis: ['retry <run id> --as <approver> [--comment <text>] [--json]'],
    summary: 'at a failure gate: run the step again',
  },
  {
    name: 'rollback',
    synopsis: ['rollback <run id> --as <approver> [--comment <text>] [--json]'],
    summary: 'at a failure gate: undo the run',
  },
  {
    name: 'skip',
    synopsis: ['skip <run id> --as <approver> --comment <why> [--json]'],
    summary: 'at a failure gate: go on without the step',
  },
  {
    name: 'sign',
    synopsis: ['sign approve|reject|retry|rollback|skip <run id> --as <you> [--comment <text>]'],
    summary: 'prints the signed decision to paste into the Web UI\'s "Send a Signal"',
  },
  {
    name: 'codec-server',
    synopsis: ['codec-server [--port 8888] [--origin <Web UI origin>]... [--token T | RUNBOOK_CODEC_TOKEN]'],
    summary: 'decodes encrypted payloads for the Web UI',
  },
  {
    name: 'codec-keys',
    synopsis: ['codec-keys [--create] [--rotate] [--json]'],
    summary: 'the payload encryption keys; --create makes the ring RUNBOOK_CODEC_KEYS names',
  },
  {
    name: 'inventory',
    synopsis: ['inventory check [--json]'],
    summary: 'every error of every environment at once; exit 2 when there is one',
  },
  {
    name: 'new',
    synopsis: ['new <name> [--json]'],
    summary: 'scaffolds runbooks/<name>/ (definition, workflow, activities, tests) and its index line',
  },
  {
    name: 'schedule',
    synopsis: [
      'schedule create <runbook> --env <env> (--cron "0 2 * * *" [--timezone Europe/Paris] | --interval 10m)',
      '                [--catchup-window 1h] [--<param> <value> ...] [--as <you>] [--json]',
      'schedule approve <schedule id> --as <approver> [--key <path>]',
      'schedule list | delete <schedule id> | trigger <schedule id> [--json]',
    ],
    summary: "runbooks on a timetable; approve: a protected environment's second signature",
  },
];

const ENVIRONMENT_NOTES = [
  'Temporal: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE',
  '  (default localhost:7233)',
  "Signed environments (identity: signed): start, decisions and sign take [--key <path>] (default: your ssh-agent's",
  '  key listed in people.yaml, or RUNBOOK_SIGNING_KEY) and [--expires 15m] (at most 24h)',
  "Payload encryption keys: RUNBOOK_CODEC_KEYS, the workers' ring (required; the local dev server's npm scripts",
  '  set RUNBOOK_CODEC_KEYS_AUTO=1, which makes <state dir>/codec-keys.json on first use)',
  '--version: the engine version; with --json, errors are {"error", "exitCode"} on stdout',
].join('\n');

/** `runbook --help`: every command, the runbooks, the environment it reads. */
export function usage(runbooks: readonly RunbookSpec[] = RUNBOOKS): string {
  const lines = ['usage: runbook <command> [options]'];
  for (const c of COMMAND_DOCS) {
    lines.push(...c.synopsis.map((s) => `  ${s}`));
    lines.push(`        ${c.summary}`);
  }
  lines.push(`runbooks: ${runbooks.map((r) => r.name).join(', ')}`);
  lines.push(ENVIRONMENT_NOTES);
  return lines.join('\n');
}

/** A parameter's flag and value placeholder as a usage line shows it: `--ref <string>`, `--gate`. */
function flagUsage(name: string, p: Param): string {
  if (p.type === 'boolean' || p.type === 'list') return flagOf(name, p);
  return `${flagOf(name, p)} ${valueHint(p)}`;
}

/** One parameter in words: its type and bounds, whether required or its default, what it does. */
export function paramFacts(
  name: string,
  p: Param,
): { flag: string; type: string; default?: string; description: string } {
  const shown = defaultText(p);
  return {
    flag: flagUsage(name, p),
    type: typeText(p),
    ...(shown === undefined ? {} : { default: shown }),
    description: p.description,
  };
}

/** `runbook start <runbook> --help`: what the runbook does and every parameter it takes. */
export function runbookHelp(spec: RunbookSpec, command: 'start' | 'schedule create' = 'start'): string {
  const params = Object.entries(spec.params);
  const synopsis = params
    .filter(([, p]) => p.type !== 'list')
    .map(([n, p]) => (p.required ? flagUsage(n, p) : `[${flagUsage(n, p)}]`));
  // The command's words come last, after every option.
  const argv = params.filter(([, p]) => p.type === 'list').map(([n, p]) => flagUsage(n, p));
  const lines = [
    `usage: runbook ${command} ${spec.name} --env <env> ${[...synopsis, '[options]', ...argv].join(' ')}`,
    '',
    `${spec.name}: ${spec.description}`,
    `changes the environment: ${spec.mutating ? 'yes (holds it while it runs)' : 'no (takes no lock)'}`,
    '',
  ];
  if (!params.length) lines.push('parameters: none');
  else {
    lines.push('parameters:');
    for (const [name, p] of params) {
      const f = paramFacts(name, p);
      lines.push(`  ${f.flag}`);
      lines.push(`      ${f.description}`);
      lines.push(`      ${f.type}; ${f.default === undefined ? 'required' : `default: ${f.default}`}`);
    }
  }
  if (command !== 'start') {
    lines.push('', `options: as runbook --help shows for ${command}`);
    return lines.join('\n');
  }
  lines.push('', 'options:');
  for (const [name, o] of Object.entries(START_OPTIONS) as [string, OptionDoc][])
    lines.push(`  --${name}${o.value ? ` ${o.value}` : ''}: ${o.description}`);
  return lines.join('\n');
}

/** The parameters a run goes with, as a dry run shows them: each given value, else its default. */
export function paramsInUse(spec: RunbookSpec, given: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(spec.params).map(([name, p]) => {
      const value = given[name];
      if (value === undefined) return [name, `${defaultText(p) ?? 'none'} (default)`];
      return [name, Array.isArray(value) ? value.map((w) => JSON.stringify(w)).join(' ') : String(value)];
    }),
  );
}
