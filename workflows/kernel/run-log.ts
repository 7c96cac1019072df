// The run's lines in the worker's log (worker/logging.ts): when it starts and ends, and each
// step and undo with its hosts, attempt and outcome. Through the SDK's workflow logger: a sink,
// so nothing here is a command (no patch: histories are unchanged) and nothing is logged again
// when a run is replayed. The SDK adds the run's id and type; these add the rest.
import { log } from '@temporalio/workflow';
import type { RunProgress } from '../../common/shared';

/** The hosts named by the activities of the step (or undo) now running: steps run one at a time. */
let current: Set<string> | undefined;

/** Notes the host(s) an activity's input names, for the running step's line (activities.ts calls it). */
export function noteHosts(input: unknown): void {
  if (!current) return;
  const arg = input as { host?: unknown; hosts?: unknown } | undefined;
  if (typeof arg?.host === 'string') current.add(arg.host);
  else if (Array.isArray(arg?.hosts)) for (const h of arg.hosts.slice(0, 50)) current.add(String(h));
}

const runOf = (p: RunProgress) => ({ runbook: p.runbook, env: p.env });

export function logRunStarted(p: RunProgress): void {
  log.info('run started', { ...runOf(p), initiator: p.initiator });
}

export function logRunEnded(p: RunProgress): void {
  const line = { ...runOf(p), outcome: p.state, ...(p.reason ? { reason: p.reason } : {}) };
  if (p.state === 'COMPLETED') log.info('run ended', line);
  else log.warn('run ended', { ...line, ...(p.leftToUndo.length ? { leftToUndo: p.leftToUndo } : {}) });
}

/** What a step or undo logs: `kind` says which; `attempt` counts its runs (gate retries, lost workers). */
export class StepLine {
  private readonly hosts = new Set<string>();

  constructor(
    private readonly p: RunProgress,
    private readonly kind: 'step' | 'undo',
    private readonly step: string,
  ) {}

  started(attempt: number): void {
    current = this.hosts;
    log.info(`${this.kind} started`, { ...runOf(this.p), step: this.step, attempt });
  }

  ended(attempt: number, outcome: string, error?: string): void {
    if (current === this.hosts) current = undefined;
    const line = {
      ...runOf(this.p),
      step: this.step,
      host: [...this.hosts].join(',') || 'none',
      attempt,
      outcome,
      ...(error ? { error } : {}),
    };
    if (error) log.warn(`${this.kind} ended`, line);
    else log.info(`${this.kind} ended`, line);
  }
}
