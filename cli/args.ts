// Argument parsing on node's own parseArgs: unknown flags are refused, nothing is guessed.
import * as os from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../src/errors';
import { RUN_ID } from '../src/run-id';
import { findRunbook, RUNBOOKS, type RunbookSpec } from '../src/runbooks';
import { INITIATOR } from '../src/start';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export function parse(args: string[], options: Options): Parsed {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { json: { type: 'boolean' }, ...options },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Parsed['values'], positionals };
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0].replace(/\. To specify.*$/, ''));
  }
}

export function runIdArg(positionals: string[], command: string): string {
  const [id, ...extra] = positionals;
  if (!id) throw new UsageError(`${command} needs a run id (see runbook list)`);
  if (extra.length) throw new UsageError(`${command} takes one run id, got also: ${extra.join(' ')}`);
  if (!RUN_ID.test(id)) throw new UsageError(`invalid run id ${JSON.stringify(id)}`);
  return id;
}

/** Who is acting: --as, else RUNBOOK_USER, else the login name. */
export function actor(as: unknown): string {
  const who = typeof as === 'string' ? as : process.env.RUNBOOK_USER || os.userInfo().username;
  if (!INITIATOR.test(who)) throw new UsageError(`invalid name ${JSON.stringify(who)} for --as`);
  return who;
}

/** The runbook a command names first, and its parameters as parse options (`--ref`, `--gate`...). */
export function runbookArg(args: string[], command: string): { spec: RunbookSpec; paramOptions: Options } {
  const name = args[0];
  const known = RUNBOOKS.map((r) => r.name).join(', ');
  if (!name || name.startsWith('-')) throw new UsageError(`${command} needs a runbook: ${known}`);
  const spec = findRunbook(name);
  if (!spec) throw new UsageError(`unknown runbook ${JSON.stringify(name)} (known: ${known})`);
  const paramOptions = Object.fromEntries(
    Object.entries(spec.params)
      .filter(([, p]) => p.type !== 'list')
      .map(([n, p]) => [n, { type: p.type === 'boolean' ? ('boolean' as const) : ('string' as const) }]),
  );
  return { spec, paramOptions };
}

/**
 * The parameters a command line gave, by name: values as typed (the declaration's checks read
 * them), flags, and the words after `--` for a runbook that takes a command.
 */
export function paramsGiven(
  spec: RunbookSpec,
  values: Parsed['values'],
  argv?: string[],
): Record<string, string | boolean | string[] | undefined> {
  return Object.fromEntries(Object.entries(spec.params).map(([n, p]) => [n, p.type === 'list' ? argv : values[n]]));
}

/** Whether the words before any `--` ask for help. */
export function asksHelp(args: string[]): boolean {
  const dashes = args.indexOf('--');
  return (dashes >= 0 ? args.slice(0, dashes) : args).some((a) => a === '--help' || a === '-h');
}
