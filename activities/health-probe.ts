// The app's health page, asked for from a host with curl: on a web host (the app itself, on
// vars.appPort) or on the load balancer (what clients reach). The one place for the URL, the
// request and how its answer is read; deploys, restores and the health check all use it.
import { ApplicationFailure } from '@temporalio/common';
import { hostVars, type Environment } from '../src/inventory';
import { runOn } from './ssh/run';
import type { SshTarget } from './ssh/target';
import { FailureType } from '../common/failure-types';

/** curl's exit codes for "nothing answered (yet)": refused, timed out, empty reply, reset. */
const NO_ANSWER = [7, 28, 52, 56];
const PROBE_SECONDS = 5;

/** Where the app answers on its own host: its health page may be the host's own (a group's or host's vars). */
export function appHealthUrl(e: Environment, host: string): string {
  return `http://127.0.0.1:${e.vars.appPort}${hostVars(e, host).healthPath}`;
}

/** Where the load balancer answers, asked for on the load balancer. */
export function lbHealthUrl(e: Environment): string {
  return `http://127.0.0.1${e.vars.healthPath}`;
}

export interface HealthAnswer {
  url: string;
  /** The HTTP status; 0 when nothing answered. */
  status: number;
  body: string;
  /** curl's complaint when nothing answered. */
  stderr: string;
}

/** GETs `url` from `target`; nothing answering is an answer (status 0), not an error. */
export async function probeHealth(target: SshTarget, url: string, timeoutMs?: number): Promise<HealthAnswer> {
  const argv = ['curl', '-sS', '--max-time', String(PROBE_SECONDS), '-w', '\\n%{http_code}', url];
  const out = await runOn(target, argv, { okExitCodes: [0, ...NO_ANSWER], ...(timeoutMs ? { timeoutMs } : {}) });
  const lines = out.stdout.trimEnd().split('\n');
  const status = Number(lines.pop()) || 0;
  return { url, status, body: lines.join('\n'), stderr: out.stderr.trim() };
}

/** The commit the answer says is served: must be `commit`; fails retryably until it is. */
export function expectServing(
  answer: HealthAnswer,
  commit: string,
  where: string,
  host?: string,
): { version: string; commit: string } {
  const { status, body } = answer;
  // Where the check ran and what it was answered: shown at a failure gate.
  const details = { ...(host ? { host } : {}), outputTail: body.slice(-1000) };
  if (status !== 200) {
    const answered = `${where}: health check answered ${status || 'nothing'}: ${body.slice(0, 300)}`;
    throw ApplicationFailure.retryable(answered, FailureType.Unhealthy, details);
  }
  let health: { version?: string; commit?: string };
  try {
    health = JSON.parse(body);
  } catch {
    const answered = `${where}: health check answered something that is not JSON: ${body.slice(0, 300)}`;
    throw ApplicationFailure.retryable(answered, FailureType.Unhealthy, details);
  }
  if (health.commit !== commit) {
    const serves = `${where}: serves commit ${health.commit}, expected ${commit}`;
    throw ApplicationFailure.retryable(serves, FailureType.WrongVersion, details);
  }
  return { version: String(health.version), commit: health.commit };
}

/** Whether the answer says the app reaches its database. */
export function databaseOk(answer: HealthAnswer): boolean {
  try {
    return (JSON.parse(answer.body) as { database?: unknown }).database === 'ok';
  } catch {
    return false;
  }
}
