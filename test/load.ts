// A steady load through the test bed's load balancer, for the tests that analyse metrics: a few
// clients in a loop, each a fresh connection per request (as the load balancer's other clients
// make). Kept light (the machine has 2 cores) and started only around those tests.
import * as http from 'node:http';

export interface LoadCounts {
  total: number;
  /** Answers by HTTP status; 0 for a connection that failed or timed out. */
  byStatus: Record<number, number>;
}

function get(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, headers: { connection: 'close' }, timeout: 15_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.once('timeout', () => req.destroy(new Error('timed out')));
    req.once('error', () => resolve(0));
  });
}

/** `clients` loops GETting `url`, each pausing `pauseMs` between requests, until stopped. */
export function startLoad(url: string, { clients = 3, pauseMs = 40 } = {}) {
  const counts: LoadCounts = { total: 0, byStatus: {} };
  let running = true;
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      const status = await get(url);
      counts.total++;
      counts.byStatus[status] = (counts.byStatus[status] ?? 0) + 1;
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  });
  return {
    counts,
    stop: async (): Promise<LoadCounts> => {
      running = false;
      await Promise.all(loops);
      return counts;
    },
  };
}
