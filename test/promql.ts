// Asking the test bed's Prometheus (scripts/testbed/prometheus.sh) what it scraped: its HTTP API,
// as the analyses' activities will (`/api/v1/query`, `/api/v1/targets`).

export interface Target {
  job: string;
  instance: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

async function api<T>(base: string, path: string, params: Record<string, string> = {}): Promise<T> {
  const url = new URL(path, base);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${url.toString()}: ${res.status} ${body.error ?? ''}`);
  return body.data;
}

/** Every active target, by job and the host it is labelled with. */
export async function targets(base: string): Promise<Target[]> {
  const data = await api<{
    activeTargets: { labels: Record<string, string>; health: Target['health']; lastError: string }[];
  }>(base, '/api/v1/targets', { state: 'active' });
  return data.activeTargets.map((t) => ({
    job: t.labels.job,
    instance: t.labels.instance,
    health: t.health,
    lastError: t.lastError,
  }));
}

/** An instant query's samples, by the value of `label` (one series per host, say). */
export async function vector(base: string, query: string, label = 'instance'): Promise<Record<string, number>> {
  const data = await api<{ resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] }>(
    base,
    '/api/v1/query',
    { query },
  );
  if (data.resultType !== 'vector') throw new Error(`${query}: a ${data.resultType}, not a vector`);
  return Object.fromEntries(data.result.map((r) => [r.metric[label] ?? '', Number(r.value[1])]));
}

/** The one number a query returns; undefined when it returns no series (or NaN). */
export async function scalar(base: string, query: string): Promise<number | undefined> {
  const values = Object.values(await vector(base, query));
  if (values.length > 1) throw new Error(`${query}: ${values.length} series, expected one`);
  return values.length && Number.isFinite(values[0]) ? values[0] : undefined;
}
