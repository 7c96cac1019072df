// Polls a load balancer every 50 ms while a deploy runs, two ways at once. Fresh connections
// (a new TCP connection per request, as curl makes): the zero-failed-request promise is about
// these. Keep-alive (node's fetch, reusing idle connections): a reload of the nginx that holds
// the clients' connections closes its old workers' idle ones, and a request sent on one at that
// instant is reset; those resets are counted apart. Where switches reload only an nginx behind
// it (the fleet's lb, `services.upstream`), a test may assert there are none.
import * as http from 'node:http';

export interface LbCounts {
  total: number;
  /** Answers other than 200, or connections refused/reset, on fresh connections. */
  failed: number;
  keepAlive: { total: number; failed: number; resets: number };
  /** Commits served on fresh connections, in order of first appearance. */
  commits: string[];
}

function fresh(url: string): Promise<{ status: number; commit?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { connection: 'close' }, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        let commit: string | undefined;
        try {
          commit = (JSON.parse(body) as { commit?: string }).commit;
        } catch {
          // Not JSON: counted by its status.
        }
        resolve({ status: res.statusCode ?? 0, commit });
      });
    });
    req.once('timeout', () => req.destroy(new Error('timed out')));
    req.once('error', reject);
  });
}

const pause = () => new Promise((r) => setTimeout(r, 50));

export function watchLb(url: string) {
  const counts: LbCounts = { total: 0, failed: 0, keepAlive: { total: 0, failed: 0, resets: 0 }, commits: [] };
  const errors: string[] = [];
  let running = true;
  const freshLoop = (async () => {
    while (running) {
      counts.total++;
      try {
        const r = await fresh(url);
        if (r.status !== 200) {
          counts.failed++;
          errors.push(`status ${r.status}`);
        } else if (r.commit && !counts.commits.includes(r.commit)) counts.commits.push(r.commit);
      } catch (err) {
        counts.failed++;
        errors.push((err as Error).message);
      }
      await pause();
    }
  })();
  const keepAliveLoop = (async () => {
    while (running) {
      counts.keepAlive.total++;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
        await res.arrayBuffer();
        if (res.status !== 200) counts.keepAlive.failed++;
      } catch (err) {
        const code = (err as { cause?: { code?: string } }).cause?.code ?? '';
        if (/SOCKET|ECONNRESET|EPIPE/.test(code)) counts.keepAlive.resets++;
        else counts.keepAlive.failed++;
      }
      await pause();
    }
  })();
  return {
    counts,
    stop: async (): Promise<LbCounts & { errors: string[] }> => {
      running = false;
      await Promise.all([freshLoop, keepAliveLoop]);
      return { ...counts, errors: errors.slice(0, 10) };
    },
  };
}

/** One line for the test's output: what the promise covers and what it does not. */
export function describeCounts(what: string, c: LbCounts): string {
  return (
    `${what}: ${c.failed} of ${c.total} fresh-connection requests failed; ` +
    `keep-alive: ${c.keepAlive.resets} resets, ${c.keepAlive.failed} other failures in ${c.keepAlive.total}`
  );
}

/**
 * Whether a keep-alive client's idle connection to `url` outlives `meanwhile` (a switch, a drain,
 * a reload): one request, `meanwhile` with the connection idle, then a second request, which
 * goes on the same connection only if the load balancer kept it open.
 */
export async function idleConnectionKept(url: string, meanwhile: () => Promise<void>): Promise<boolean> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = () =>
    new Promise<boolean>((resolve, reject) => {
      const req = http.get(url, { agent, timeout: 3000 }, (res) => {
        res.resume();
        res.once('end', () =>
          res.statusCode === 200 ? resolve(req.reusedSocket) : reject(new Error(`status ${res.statusCode}`)),
        );
      });
      req.once('timeout', () => req.destroy(new Error('timed out')));
      req.once('error', reject);
    });
  try {
    await get();
    await meanwhile();
    // Time for a close the load balancer sent to reach the client, which then drops the connection.
    await new Promise((r) => setTimeout(r, 500));
    return await get();
  } finally {
    agent.destroy();
  }
}
