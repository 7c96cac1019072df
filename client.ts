#!/usr/bin/env node
// `runbook`: start runbooks, follow them, approve or reject them, cancel them, list them.
import { COMMANDS } from './src/cli/commands';
import { connectClient, firstLine } from './src/temporal';
import { RUNBOOKS } from './src/runbooks';

const USAGE = `usage: runbook <command> [options]
  start <runbook> --env <env> [--<param> <value> ...] [--as <you>] [--approval-timeout 30m] [--dry-run] [--json]
  status <run id> [--json]
  approve <run id> --as <approver> [--comment <text>] [--json]
  reject <run id> --as <approver> --comment <why> [--json]
  cancel <run id> [--json]
  list [--env <env>] [--runbook <name>] [--state <state>] [--limit N] [--json]
  schedule create <runbook> --env <env> (--cron "0 2 * * *" [--timezone Europe/Paris] | --interval 10m) [--catchup-window 1h] [--<param> <value> ...] [--as <you>] [--json]
  schedule list | delete <schedule id> | trigger <schedule id> [--json]
runbooks: ${RUNBOOKS.map((r) => r.name).join(', ')}
Temporal: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE (default localhost:7233)`;

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
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
    console.error(`runbook: ${firstLine(err)}`);
    process.exit((err as { exitCode?: number }).exitCode ?? 1);
  },
);
