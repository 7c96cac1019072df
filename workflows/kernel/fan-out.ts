// One activity per host, at most `limit` at a time: a wide fan-out must not open a hundred
// SSH sessions at once, and each host's result or error stays its own (the innermost message,
// not the activity wrapper's).
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
