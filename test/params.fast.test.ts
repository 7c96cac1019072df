// Declared parameters (common/params.ts, common/runbook-params.ts): one declaration that the
// worker's checks, the CLI's help, the dry run and the generated docs all read.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkParamValues, defineParams, paramValues, type ParamDecls, type ParamsOf } from '../common/params';
import { RELEASE_PARAMS } from '../common/runbook-params';
import { parseEnvironment } from '../src/inventory';
import { checkParams, decideGates, PolicyError } from '../src/policy';
import { findRunbook, RUNBOOKS, type RunbookSpec } from '../src/runbooks';
import { COMMANDS } from '../cli/commands';
import { generatedDocs, runbooksMarkdown, withInventoryReference, withUsage } from '../cli/docs';
import { COMMAND_DOCS, paramsInUse, runbookHelp, START_OPTIONS, usage } from '../cli/help';
import { SIGNING_OPTIONS } from '../cli/sign';
import { switchOptions } from '../workflows/blue-green';

const ROOT = path.resolve(__dirname, '..', '..');
const HOSTS =
  'hosts:\n  lb: { address: 10.0.0.2, roles: [lb] }\n  web-blue: { address: 10.0.0.5, roles: [web] }\n' +
  '  web-green: { address: 10.0.0.6, roles: [web] }\n  db: { address: 10.0.0.7, roles: [db] }\n';
const env = (protect: boolean) =>
  parseEnvironment(
    `environment: prod\nprotected: ${protect}\napprovals: { approvers: [alice, bob] }\n${HOSTS}`,
    'prod.yaml',
  );
const spec = (name: string): RunbookSpec => findRunbook(name)!;
const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof PolicyError, `a PolicyError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('accepted');
};

/** `spec` with one parameter's declared default changed: a definition edited, in memory. */
function withDefault(base: RunbookSpec, name: string, value: unknown): RunbookSpec {
  return { ...base, params: { ...base.params, [name]: { ...base.params[name], default: value } } as ParamDecls };
}

describe('declared parameters', function () {
  it('are refused before anything runs, naming the parameter, its type and its bounds', function () {
    const backup = spec('backup');
    assert.match(
      refusal(() => checkParams(backup, env(false), { daily: '1000' })),
      /^--daily "1000" is not valid: daily is an integer from 0 to 999; got 1000 \(how many days/,
    );
    assert.match(
      refusal(() => checkParams(spec('renew-certificate'), env(false), { threshold: '0d' })),
      /^--threshold "0d" is not valid: threshold is a duration .* at most 366d; must be longer than zero/,
    );
    assert.match(
      refusal(() => checkParams(spec('deploy'), env(false), { ref: '--upload-pack=x' })),
      /^--ref "--upload-pack=x" is not valid: ref is a string \(a git ref/,
    );
    assert.match(
      refusal(() => checkParams(spec('deploy'), env(false), {})),
      /^deploy needs --ref \(string/,
    );
    assert.match(
      refusal(() => checkParams(spec('deploy'), env(false), { ref: 'v1', window: '1m' })),
      /^deploy has no parameter "window" \(parameters: ref, gate, rollback-window, max-failures, min-capacity\)/,
    );
    assert.match(
      refusal(() => checkParams(spec('deploy'), env(false), { ref: 'v1', gate: 'yes' })),
      /--gate is a flag/,
    );
    assert.match(
      refusal(() => checkParams(spec('run-command'), env(false), { hosts: 'role:web', argv: Array(65).fill('x') })),
      /at most 64 words|longer than 64 words/,
    );
  });

  it('read a whole number as older clients and schedules sent it, as text, and as JSON sends it', function () {
    const backup = spec('backup');
    assert.deepEqual(checkParams(backup, env(false), { daily: '12', weekly: 3 }), { daily: 12, weekly: 3 });
    assert.deepEqual(paramValues(RELEASE_PARAMS, { ref: 'v1' }), {
      ref: 'v1',
      gate: false,
      'rollback-window': '10m',
      'max-failures': '0',
      'min-capacity': '80%',
    });
  });

  it('type a workflow input from the declaration, and check every kind of value at run time', function () {
    const decls = defineParams({
      mode: { type: 'enum', values: ['fast', 'safe'], default: 'safe', description: 'how' },
      count: { type: 'integer', min: 1, max: 3, required: true, description: 'how many' },
      pause: { type: 'number', min: 0, max: 2, description: 'seconds between' },
      argv: { type: 'list', maxItems: 2, maxLength: 5, description: 'the command' },
    });
    // @ts-expect-error count is required, and the compiler says so.
    const missing: ParamsOf<typeof decls> = {};
    assert.ok(missing);
    const given: ParamsOf<typeof decls> = { count: 2 };
    const values = paramValues(decls, given);
    // The enum's type is its values: a workflow reading it can only compare with those.
    const mode: 'fast' | 'safe' = values.mode;
    assert.deepEqual([mode, values.count, values.pause], ['safe', 2, undefined]);
    const refused = (params: Record<string, unknown>) => {
      try {
        checkParamValues('t', decls, params);
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    assert.match(refused({ count: 2, mode: 'slow' }), /--mode "slow" is not valid: mode is one of fast, safe \(how\)/);
    assert.match(refused({ count: 4 }), /--count 4 is not valid: count is an integer from 1 to 3; got 4/);
    assert.match(refused({ count: 1.5 }), /count is an integer from 1 to 3/);
    assert.match(refused({ count: 1, pause: '2.5' }), /pause is a number from 0 to 2; got 2.5/);
    assert.match(refused({ count: 1, argv: ['a', 'b', 'c'] }), /longer than 2 words of 5 characters/);
    assert.match(refused({ count: 1, argv: 'ls' }), /needs the command after --, as separate words/);
    assert.deepEqual(checkParamValues('t', decls, { count: '3', pause: '0.5', argv: ['ls'] }), {
      count: 3,
      pause: 0.5,
      argv: ['ls'],
    });
  });

  it('never share a name with an option of runbook start', function () {
    const fixed = [...Object.keys(START_OPTIONS), ...Object.keys(SIGNING_OPTIONS), 'help'];
    for (const r of RUNBOOKS)
      for (const name of Object.keys(r.params)) assert.ok(!fixed.includes(name), `${r.name} --${name}`);
  });

  it('runbook start <runbook> --help shows each parameter with its type, default or required, and bounds', function () {
    const help = runbookHelp(spec('deploy'));
    assert.match(
      help,
      /^usage: runbook start deploy --env <env> --ref <string> \[--gate\] \[--rollback-window <duration>\]/,
    );
    assert.match(help, /blue\/green deploy of a git ref/);
    assert.match(
      help,
      new RegExp(
        '--rollback-window <duration>\n\\s+how long the old colour keeps running after the switch\n' +
          '\\s+duration .*at most 366d; default: 10m',
      ),
    );
    assert.match(help, /--ref <string>\n.*\n\s+string \(a git ref.*; required/);
    assert.match(
      runbookHelp(spec('backup')),
      /integer from 0 to 999; default: inventory backupRetention.daily, else 7/,
    );
    for (const r of RUNBOOKS)
      for (const [name, p] of Object.entries(r.params))
        assert.ok(runbookHelp(r).includes(p.description), `${r.name} ${name}'s description`);
  });

  it('the command list and its help come from one description of the commands', function () {
    // Every command the CLI runs is described, and nothing else.
    assert.deepEqual(COMMAND_DOCS.map((c) => c.name).sort(), Object.keys(COMMANDS).sort());
    const text = usage();
    for (const c of COMMAND_DOCS) assert.ok(text.includes(`  ${c.synopsis[0]}`), c.name);
    assert.ok(text.includes(`runbooks: ${RUNBOOKS.map((r) => r.name).join(', ')}`));
  });

  it('the generated docs (runbooks.md, inventory.schema.json, parts of cli.md, inventory.md) are fresh', function () {
    const read = (file: string) =>
      fs.existsSync(path.join(ROOT, file)) ? fs.readFileSync(path.join(ROOT, file), 'utf8') : '';
    for (const [file, text] of Object.entries(generatedDocs()))
      assert.ok(read(file) === text, `${file} is stale: run npm run docs`);
    const cli = read('docs/cli.md');
    assert.ok(withUsage(cli) === cli, 'the usage block of docs/cli.md is stale: run npm run docs');
    const inventory = read('docs/inventory.md');
    assert.ok(
      withInventoryReference(inventory) === inventory,
      'the roles, vars or provision table of docs/inventory.md is stale: run npm run docs',
    );
  });

  it('a default changed in a definition changes the help, the docs, the worker checks and the dry run', function () {
    const deploy = spec('deploy');
    const changed = withDefault(deploy, 'rollback-window', '2d');
    // The CLI's help and the docs.
    assert.match(runbookHelp(deploy), /default: 10m/);
    assert.match(runbookHelp(changed), /default: 2d/);
    assert.doesNotMatch(runbookHelp(changed), /default: 10m/);
    assert.match(runbooksMarkdown([deploy]), /\| 10m \|/);
    assert.match(runbooksMarkdown([changed]), /\| 2d \|/);
    // The dry run: the parameters in use and the plan.
    assert.equal(paramsInUse(deploy, { ref: 'v1' })['rollback-window'], '10m (default)');
    assert.equal(paramsInUse(changed, { ref: 'v1' })['rollback-window'], '2d (default)');
    // The procedure, which the dry run walks, names its window step from the same declaration.
    assert.equal(switchOptions({ ref: 'v1' }).window, RELEASE_PARAMS['rollback-window'].default);
    assert.equal(paramValues(changed.params, { ref: 'v1' })['rollback-window'], '2d');
    // The worker's checks: the default is held to the environment's bounds (at most 1d here).
    assert.deepEqual(decideGates(deploy, env(true), { ref: 'v1' }).beyondBounds, []);
    assert.match(
      decideGates(changed, env(true), { ref: 'v1' }).beyondBounds.join(),
      /--rollback-window 2d \(the default\) is longer than prod's bound, 1d/,
    );
    // What a procedure fills in reads the same declaration.
    const threshold = withDefault(spec('renew-certificate'), 'threshold', '12d');
    assert.match(runbookHelp(threshold), /default: 12d/);
    assert.equal(paramValues(threshold.params, {}).threshold, '12d');
  });
});
