// RUNBOOK_SSH_RECORD=FILE: every command sent to a host is appended to FILE as a JSON line, with
// the exact command line sent, its stdin and the activity that sent it. Off unless set (it holds
// what stdin carries, secrets included: only for a benchmark's own scratch file). `npm run bench
// -- fleet` turns a run's record into the plain script it times beside the engine, and checks
// that script ran exactly the recorded commands (bench/fleet-plain.ts).
import * as fs from 'node:fs';
import { Context } from '@temporalio/activity';
import type { SshTarget } from './target';

export interface RecordedCommand {
  /** Milliseconds since the epoch, when the command was sent. */
  at: number;
  /** "env/host". */
  host: string;
  address: string;
  port: number;
  user: string;
  /** The command line as sent to the host's shell (argv quoted, wrapped). */
  command: string;
  stdin?: string;
  /** The activity that sent it, and that activity's id (one per host and step). */
  activity?: string;
  activityId?: string;
  workflowId?: string;
  /** Its exit code as the run saw it (null: the connection went away). */
  exit?: number | null;
}

/**
 * Records the command when it ends: call what this returns with its exit code (null: none, the
 * connection went away; undefined: not known, a stream's).
 */
export function recordCommand(target: SshTarget, command: string, stdin?: string): (exit?: number | null) => void {
  const file = process.env.RUNBOOK_SSH_RECORD;
  if (!file) return () => undefined;
  let info: Context['info'] | undefined;
  try {
    info = Context.current().info;
  } catch {
    info = undefined;
  }
  const at = Date.now();
  const line: RecordedCommand = {
    at,
    host: target.name,
    address: target.address,
    port: target.port,
    user: target.username,
    command,
    ...(stdin !== undefined ? { stdin } : {}),
    ...(info
      ? { activity: info.activityType, activityId: info.activityId, workflowId: info.workflowExecution?.workflowId }
      : {}),
  };
  return (exit) =>
    fs.appendFileSync(file, `${JSON.stringify({ ...line, ...(exit !== undefined ? { exit } : {}) })}\n`, {
      mode: 0o600,
    });
}
