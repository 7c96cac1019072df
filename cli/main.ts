#!/usr/bin/env node
// `runbook`: start runbooks, follow them (watch), read their audit trail (history), approve or
// reject them, decide at their failure gates, cancel them, list them.
import { COMMANDS, HELP } from './commands';
import { connectClient } from '../client';
import { firstLine } from '../src/temporal';
import { USAGE } from './usage';
import { inertText } from '../common/inert';
import { packageVersion } from '../src/config';
import { UsageError } from '../src/errors';

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || HELP.includes(name)) {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  if (name === '--version' || name === 'version') {
    console.log(packageVersion());
    return 0;
  }
  const command = COMMANDS[name];
  if (!command)
    throw new UsageError(`unknown command ${JSON.stringify(name)} (commands: ${Object.keys(COMMANDS).join(', ')})`);
  return command(args, connectClient);
}

const argv = process.argv.slice(2);
main(argv).then(
  (code) => process.exit(code),
  (err) => {
    // One clear line, never a stack trace: the message is written for the operator.
    // An error may quote what a server or a run said: shown inert.
    const error = inertText(firstLine(err));
    const exitCode = (err as { exitCode?: number }).exitCode ?? 1;
    // With --json, what a script reads: one JSON object on stdout (one line, so also a JSON
    // line after `watch --json`'s), with the same exit code.
    if (argv.includes('--json')) process.stdout.write(`${JSON.stringify({ error, exitCode })}\n`);
    else console.error(`runbook: ${error}`);
    process.exit(exitCode);
  },
);
