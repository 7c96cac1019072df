// The watch a run keeps on its environment's alarms (src/alarms.ts): a timer in the workflow,
// every interval the admission gave, calling one `reads` activity that reads every alarm of
// the run on the worker; the first that fires sets a flag, and the run stops at its next step
// boundary (workflows/kernel/runbook.ts). No query per step; no timer for a run no alarm watches.
// It pauses while the run waits at a gate (a gate may wait for days: a read every interval
// would fill the history), and reads once more before the run goes on.
import { CancellationScope, isCancellation, sleep } from '@temporalio/workflow';
import type * as activities from '../../activities';
import type { AlarmFiring, AlarmWatch } from '../../common/shared';
import { stepActivities } from './activities';

// One read a few times over, then the failure counts as the alarms unreadable (firing).
const { readAlarms } = stepActivities<typeof activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 3 },
});

export class AlarmWatcher {
  /** The alarm that fired, until the run has stopped for it. */
  firing: AlarmFiring | undefined;
  /** Alarms the run was let past (break-glass, or skipped at its failure gate): not read again. */
  private readonly passed = new Set<string>();
  private scope: CancellationScope | undefined;
  private ended = false;

  constructor(
    private readonly env: string,
    readonly watch: AlarmWatch,
  ) {}

  /** Starts reading: at once, then every interval until an alarm fires. Resolves after the first read. */
  start(): Promise<void> {
    // One that fired stays fired until the run has stopped for it.
    if (this.scope || this.ended || this.firing) return Promise.resolve();
    const scope = new CancellationScope();
    this.scope = scope;
    let first: () => void = () => undefined;
    const firstRead = new Promise<void>((resolve) => (first = resolve));
    scope
      .run(async () => {
        for (;;) {
          const names = this.watch.names.filter((n) => !this.passed.has(n));
          if (!names.length) break;
          this.firing = (await this.read(names))[0];
          first();
          if (this.firing) break;
          await sleep(this.watch.intervalMs);
        }
      })
      .catch((err: unknown) => {
        if (!isCancellation(err)) throw err;
      })
      .finally(() => {
        if (this.scope === scope) this.scope = undefined;
        first();
      });
    return firstRead;
  }

  /** Stops reading, for now (a gate) or for good (the run is ending or undoing). */
  stop(forGood = false): void {
    this.ended ||= forGood;
    const scope = this.scope;
    this.scope = undefined;
    scope?.cancel();
  }

  /** The run went past `alarm`: it no longer stops it. */
  pass(alarm: string): void {
    this.passed.add(alarm);
  }

  private async read(names: string[]): Promise<AlarmFiring[]> {
    try {
      return (await readAlarms({ env: this.env, alarms: names })).firing;
    } catch (err) {
      if (isCancellation(err)) throw err;
      // The worker could not read them at all: as an alarm that cannot be read, it fires.
      const why = innermostMessage(err);
      return [
        {
          alarm: names.join(', '),
          value: `unreadable: ${why}`.slice(0, 300),
          query: '',
          then: 'undo',
          unreadable: true,
        },
      ];
    }
  }
}

function innermostMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  let message = String(err);
  while (e && typeof e === 'object') {
    if (e.message) message = e.message;
    e = e.cause as typeof e;
  }
  return message;
}
