#!/usr/bin/env node
// `runbook`: start runbooks, follow them (watch), read their audit trail (history), approve or
// reject them, decide at their failure gates, cancel them, list them.
import { COMMANDS } from './commands';
import { connectClient, firstLine } from '../src/temporal';
import { RUNBOOKS } from '../src/runbooks';
import { inertText } from '../common/inert';

const USAGE = `usage: runbook <command> [options]
  start <runbook> --env <env> [--<param> <value> ...] [--as <you>] [--approval-timeout 30m] [--approvals N]
        [--on-failure compensate|ask] [--failure-timeout 30m] [--dry-run] [--follow] [--json]
        [--wait-for-window | --break-glass "<reason>"]   (in a freeze window: wait, or two signed approvals)
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
  codec-keys [--rotate] [--json]
  schedule create <runbook> --env <env> (--cron "0 2 * * *" [--timezone Europe/Paris] | --interval 10m)
                  [--catchup-window 1h] [--<param> <value> ...] [--as <you>] [--json]
  schedule approve <schedule id> --as <approver> [--key <path>]   (a protected environment's second signature)
  schedule list | delete <schedule id> | trigger <schedule id> [--json]
runbooks: ${RUNBOOKS.map((r) => r.name).join(', ')}
Temporal: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE
  (default localhost:7233)
Signed environments (identity: signed): start, decisions and sign take [--key <path>] (default: your ssh-agent's
  key listed in people.yaml, or RUNBOOK_SIGNING_KEY) and [--expires 15m] (at most 24h)
Payload encryption keys: RUNBOOK_CODEC_KEYS (default <state dir>/codec-keys.json, made on first use)`;

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
    // An error may quote what a server or a run said: shown inert.
    console.error(`runbook: ${inertText(firstLine(err))}`);
    process.exit((err as { exitCode?: number }).exitCode ?? 1);
  },
);
