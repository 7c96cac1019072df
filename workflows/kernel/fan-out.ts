// One activity per host, at most `limit` at a time: a wide fan-out must not open a hundred
// SSH sessions at once, and each host's result or error stays its own (the innermost message,
// not the activity wrapper's).
import { ApplicationFailure } from '@temporalio/workflow';
import { FailureType } from '../../common/failure-types';
import { describe } from './saga';

export interface HostOutcome<T> {
  host: string;
  ok: boolean;
  value?: T;
  error?: string;
}

export async function forEachHost<T>(
  hosts: readonly string[],
  limit: number,
  fn: (host: string) => Promise<T>,
): Promise<HostOutcome<T>[]> {
  const outcomes: HostOutcome<T>[] = new Array(hosts.length);
  let next = 0;
  const lane = async () => {
    while (next < hosts.length) {
      const i = next++;
      const host = hosts[i];
      try {
        outcomes[i] = { host, ok: true, value: await fn(host) };
      } catch (err) {
        outcomes[i] = { host, ok: false, error: describe(err) };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, hosts.length)) }, lane));
  return outcomes;
}

/**
 * `fn` on every host, `limit` at a time; fails naming each host that failed once all are done.
 * One host calls `fn` alone, so its error (and its failure gate) stays the activity's own.
 */
export async function onEvery<T>(
  hosts: readonly string[],
  limit: number,
  fn: (host: string) => Promise<T>,
): Promise<T[]> {
  if (hosts.length === 1) return [await fn(hosts[0])];
  const outcomes = await forEachHost(hosts, limit, fn);
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length) {
    const each = failed.map((o) => `${o.host}: ${o.error}`).join('; ');
    throw ApplicationFailure.retryable(
      `${failed.length} of ${hosts.length} hosts failed: ${each}`,
      FailureType.HostsFailed,
      {
        hosts: failed.map((o) => o.host),
      },
    );
  }
  return outcomes.map((o) => o.value as T);
}
