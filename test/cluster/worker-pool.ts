// Several worker processes on one task queue, as a team runs them: one can be SIGKILLed (a
// random one, or the one running a given step) and a fresh one started in its place.
import * as os from 'node:os';
import type { WorkflowHandle } from '@temporalio/client';
import { startWorkerProcess, type WorkerProcess, type WorkerProcessOptions } from '../worker-process';

export class WorkerPool {
  private readonly workers: WorkerProcess[] = [];
  readonly killed: { pid: number; at: number; why: string }[] = [];

  /**
   * By default workers with the test-only activities too (test/worker-main.ts), for the kernel's
   * three-step runbook; `options` start other workers (the bench's).
   */
  constructor(
    readonly taskQueue: string,
    private readonly env: Record<string, string> = {},
    private readonly options: WorkerProcessOptions = { testActivities: true },
  ) {}

  private spawn(): Promise<WorkerProcess> {
    return startWorkerProcess(this.taskQueue, this.env, this.options);
  }

  async start(count: number): Promise<void> {
    const started = await Promise.all(Array.from({ length: count }, () => this.spawn()));
    this.workers.push(...started);
  }

  get size(): number {
    return this.workers.length;
  }

  /** Whether this pid is one of the pool's live workers (not one it has killed). */
  has(pid: number): boolean {
    return this.workers.some((w) => w.pid === pid);
  }

  /** SIGKILLs the worker with this pid (or a random one), then starts another in its place. */
  async killAndReplace(why: string, pid?: number): Promise<number> {
    const index =
      pid === undefined
        ? Math.floor(Math.random() * this.workers.length)
        : this.workers.findIndex((w) => w.pid === pid);
    if (index < 0) throw new Error(`no worker of ours has pid ${pid}`);
    const [victim] = this.workers.splice(index, 1);
    await victim.kill('SIGKILL');
    this.killed.push({ pid: victim.pid, at: Date.now(), why });
    this.workers.push(await this.spawn());
    return victim.pid;
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.splice(0).map((w) => w.kill('SIGTERM')));
  }

  output(): string {
    return this.workers.map((w) => w.output()).join('\n');
  }
}

/**
 * The pid of a live worker of the pool running one of the run's activities now, if one is. A step
 * whose worker was SIGKILLed stays STARTED under that worker's identity until its heartbeat
 * timeout ends the attempt: such a worker is no longer the pool's, and is skipped.
 */
export async function workerRunningAStep(
  handle: WorkflowHandle,
  pool: WorkerPool,
): Promise<{ pid: number; activity: string; attempt: number } | undefined> {
  const { raw } = await handle.describe();
  for (const a of raw.pendingActivities ?? []) {
    // PENDING_ACTIVITY_STATE_STARTED = 2: a worker has it.
    const identity = a.lastWorkerIdentity ?? '';
    const m = /^(\d+)@(.+)$/.exec(identity);
    if (Number(a.state) === 2 && m && m[2] === os.hostname() && pool.has(Number(m[1]))) {
      return { pid: Number(m[1]), activity: a.activityType?.name ?? '?', attempt: a.attempt ?? 1 };
    }
  }
  return undefined;
}
