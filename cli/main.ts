#!/usr/bin/env node
// `runbook`: start runbooks, follow them (watch), read their audit trail (history), approve or
// reject them, decide at their failure gates, cancel them, list them.
import { COMMANDS } from './commands';
import { connectClient, firstLine } from '../src/temporal';
import { RUNBOOKS } from '../src/runbooks';
import { inertText } from '../common/inert';
import { packageVersion } from '../src/config';
import { UsageError } from '../src/errors';

const USAGE = `usage: runbook <command> [options]
  --version                     the engine's version (its package's)
  start <runbook> --env <env> [--<param> <value> ...] [--as <you>] [--approval-timeout 30m] [--approvals N]
        [--on-failure compensate|ask] [--failure-timeout 30m] [--dry-run] [--follow] [--json]
  status <run id> [--json]
  approve <run id> --as <approver> [--comment <text>] [--json]
  reject <run id> --as <approver> --comment <why> [--json]
  cancel <run id> [--json]
  list [--env <env>] [--runbook <name>] [--state <state>] [--limit N] [--json]
  watch <run id> [--json]       follow it until it ends; exit 0 completed, 1 not, 4 refused, 5 left to undo by hand
  history <run id> [--json]     the audit trail, also after the run closed
  retry <run id> --as <approver> [--comment <text>] [--json]      (at a failure gate: run the step again)
  rollback <run id> --as <approver> [--comment <text>] [--json]   (at a failure gate: undo the run)
  skip <run id> --as <approver> --comment <why> [--json]          (at a failure gate: go on without the step)
  sign approve|reject|retry|rollback|skip <run id> --as <you> [--comment <text>]
                                prints the signed decision to paste into the Web UI's "Send a Signal"
  codec-server [--port 8888] [--origin <Web UI origin>]... [--token T | RUNBOOK_CODEC_TOKEN]
  codec-keys [--create] [--rotate] [--json]
  schedule create <runbook> --env <env> (--cron "0 2 * * *" [--timezone Europe/Paris] | --interval 10m)
                  [--catchup-window 1h] [--<param> <value> ...] [--as <you>] [--json]
  schedule approve <schedule id> --as <approver> [--key <path>]   (a protected environment's second signature)
  schedule list | delete <schedule id> | trigger <schedule id> [--json]
runbooks: ${RUNBOOKS.map((r) => r.name).join(', ')}
Temporal: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE
  (default localhost:7233)
Signed environments (identity: signed): start, decisions and sign take [--key <path>] (default: your ssh-agent's
  key listed in people.yaml, or RUNBOOK_SIGNING_KEY) and [--expires 15m] (at most 24h)
Payload encryption keys: RUNBOOK_CODEC_KEYS, the ring the workers use (required; the local dev server's npm scripts
  set RUNBOOK_CODEC_KEYS_AUTO=1, which makes <state dir>/codec-keys.json on first use)`;

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
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
