#!/usr/bin/env node
// `runbook`: start runbooks, follow them (watch), read their audit trail (history), approve or
// reject them, decide at their failure gates, cancel them, list them.
import { COMMANDS, HELP } from './commands';
import { connectClient, firstLine } from '../src/temporal';
import { USAGE } from './usage';
import { inertText } from '../common/inert';

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || HELP.includes(name)) {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`runbook: unknown command ${JSON.stringify(name)} (commands: ${Object.keys(COMMANDS).join(', ')})`);
    return 2;
  }
  return command(args, connectClient);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    // One clear line, never a stack trace: the message is written for the operator.
    // An error may quote what a server or a run said: shown inert.
    console.error(`runbook: ${inertText(firstLine(err))}`);
    process.exit((err as { exitCode?: number }).exitCode ?? 1);
  },
);
