// Each runbook's parameters, declared once (see common/params.ts). src/runbooks.ts gives them
// to the CLI, the worker's checks, the dry run and the docs; each workflow takes its input
// type (`ParamsOf`) and its defaults (`paramValues`) from here. Imported by workflow code: no
// Node built-ins, no I/O.
import { BACKUP_CHOICE, PREVIOUS_DATABASE } from './backup-names';
import { BATCHES, MAX_FAILURES } from './fleet-plan';
import { defineParams } from './params';
import { ROLE_NAMES } from './roles';

/** A git ref as operators type it: no leading dash, no "..", no spaces or shell characters. */
export const GIT_REF = /^(?!-)(?!.*\.\.)[A-Za-z0-9._/@{}^~-]{1,200}$/;
/** A secret's name in the inventory (secrets.<name>), as the inventory's schema allows it. */
export const SECRET_REF = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;
/** A share of hosts, 1% to 100%. */
export const CAPACITY = /^(?:100|[1-9]\d?)%$/;
/** A host's name in the inventory. */
export const HOST_NAME = /^[a-z][a-z0-9-]{0,62}$/;
/**
 * A host selector (common/host-selector.ts): terms separated by `,` or `:`, each maybe `!`, a
 * `role:<role>`, or a host or group name or a glob of one (`*`, `?`). Bounded, and only letters,
 * digits and `-_*?!,:`: it is read by the selector's parser, never by a shell. A plain term is
 * not `role` before a colon, so each selector parses one way only (no backtracking blow-up).
 */
const SELECTOR_TERM = `!?(?:role:(?:${ROLE_NAMES.join('|')})|(?!role:)[a-z0-9_*?-]{1,63})`;
export const SELECTOR = new RegExp(`^${SELECTOR_TERM}(?:[,:]${SELECTOR_TERM}){0,999}$`);
/** One to five analysis names of the inventory (src/analysis/declared.ts), separated by commas. */
export const ANALYSIS_NAMES = /^[a-z][a-z0-9-]{0,62}(?:,[a-z][a-z0-9-]{0,62}){0,4}$/;
/** What a run may ask of its analyses: numbers only, by key (pickAnalysis says which keys, and which way). */
const TIGHTEN_TERM = '(?:[a-z][a-z0-9-]{0,62}\\.)?[A-Za-z]{1,30}=-?\\d{1,6}(?:\\.\\d{1,6})?';
export const ANALYSIS_TIGHTENING = new RegExp(`^${TIGHTEN_TERM}(?:,${TIGHTEN_TERM}){0,19}$`);
/** Bounds on a command's argv: it travels in the run's input and history. */
export const MAX_ARGS = 64;
export const MAX_ARG_LENGTH = 4096;

const ref = {
  type: 'string',
  required: true,
  pattern: GIT_REF,
  shape: 'a git ref: no leading dash, no "..", no spaces',
  description: 'a tag, branch or commit id of the application repository',
} as const;

/** deploy and migrate-then-code. */
export const RELEASE_PARAMS = defineParams({
  ref,
  gate: { type: 'boolean', description: 'wait for approval before traffic moves' },
  'rollback-window': {
    type: 'duration',
    default: '10m',
    description: 'how long the old colour keeps running after the switch',
  },
  'max-failures': {
    type: 'string',
    pattern: MAX_FAILURES,
    default: '0',
    shape: 'a count or a percentage',
    description: 'how many hosts of the new colour may fail (left out, never switched to) before the run rolls back',
  },
  'min-capacity': {
    type: 'string',
    pattern: CAPACITY,
    default: '80%',
    shape: 'a percentage',
    description: 'with hosts left out, the share of the serving hosts the new colour must have healthy to take traffic',
  },
});

export const HEALTH_PARAMS = defineParams({});

export const PROVISION_PARAMS = defineParams({
  host: {
    type: 'string',
    required: true,
    pattern: HOST_NAME,
    shape: 'an inventory host name',
    description: 'the inventory name of the host to provision (e.g. fresh)',
  },
});

export const RESTORE_PARAMS = defineParams({
  backup: {
    type: 'string',
    pattern: BACKUP_CHOICE,
    default: 'latest',
    shape: '"latest" or a backup name',
    description: 'the backup to restore: "latest" or a name such as prod-20261123T020000Z',
  },
  'accept-unrecorded': {
    type: 'boolean',
    description:
      'accept a backup that no run kept by Temporal made (by hand, or past its retention): ' +
      'the store vouches for it alone',
  },
});

/** restore-previous and drop-previous. */
export const PREVIOUS_DATABASE_PARAMS = defineParams({
  database: {
    type: 'string',
    required: true,
    pattern: PREVIOUS_DATABASE,
    shape: 'runbook_previous_<12 hex digits>',
    description: "the database a restore kept aside, as the restore's record names it",
  },
});

export const ROTATE_PARAMS = defineParams({
  secret: {
    type: 'string',
    required: true,
    pattern: SECRET_REF,
    shape: 'a secret name of the inventory',
    description: 'the inventory secret (secrets.<name>) that holds the new password',
  },
});

export const ROLLING_PARAMS = defineParams({
  ref,
  batches: {
    type: 'string',
    pattern: BATCHES,
    default: '1,25%,100%',
    shape: 'counts or percentages separated by commas',
    description: 'batch sizes, the last repeating',
  },
  'max-failures': {
    type: 'string',
    pattern: MAX_FAILURES,
    default: '0',
    shape: 'a count or a percentage',
    description: 'how many hosts may fail (rolled back, left drained) before the run stops and rolls back',
  },
  gate: { type: 'boolean', description: 'wait for approval after the canary batch' },
  analysis: {
    type: 'string',
    pattern: ANALYSIS_NAMES,
    shape: 'names of analyses of the inventory, separated by commas',
    description:
      "the inventory's analyses each batch is judged by: Failed rolls back, Inconclusive waits for a person " +
      '([analysis-and-freezes.md](analysis-and-freezes.md))',
  },
  'analysis-tighten': {
    type: 'string',
    pattern: ANALYSIS_TIGHTENING,
    shape: '[analysis.]key=number, separated by commas',
    description: 'stricter limits for the analyses (count=10, canary.minSamples=15); a looser one is overruled',
  },
  'analysis-mode': {
    type: 'enum',
    values: ['act', 'record-only'],
    default: 'act',
    description: 'record-only: each verdict is recorded, and the run goes on whatever it is',
  },
});

export const COMMAND_PARAMS = defineParams({
  hosts: {
    type: 'string',
    required: true,
    pattern: SELECTOR,
    shape: 'host, group and role:<role> names and globs, separated by commas; !name excludes',
    description: 'the hosts to run the command on',
  },
  batch: {
    type: 'string',
    pattern: BATCHES,
    default: '5',
    shape: 'a count or a percentage',
    description: 'how many hosts at once',
  },
  'max-failures': {
    type: 'string',
    pattern: MAX_FAILURES,
    default: '0',
    shape: 'a count or a percentage',
    description: 'how many hosts may fail before no further batch starts',
  },
  argv: {
    type: 'list',
    required: true,
    maxItems: MAX_ARGS,
    maxLength: MAX_ARG_LENGTH,
    description: 'the command, e.g. -- uptime',
  },
});
