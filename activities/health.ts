// The health check's probes and its memory. Each host is probed by role: SSH everywhere (a
// fresh login, not the worker's pooled connection, which outlives a stopped sshd), the app
// on the live web colour, HTTP and HTTPS through the load balancer as clients reach it,
// PostgreSQL on the database host. A failed probe is a result, not an error. What was
// last alerted is read back from the previous health-check run's result in Temporal.
import * as http from 'node:http';
import * as https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ENV_NAME } from '../src/inventory';
import { RunbookEnvKey, RunbookNameKey } from '../common/shared';
import { environment } from './env-vars';
import { appHealthUrl, probeHealth } from './health-probe';
import { liveHost } from './lb';
import { postJson, webhookUrl } from './webhook';
import { SshPool } from './ssh/pool';
import { runOn } from './ssh/run';
import { execOpenSsh } from './ssh/openssh';
import { resolveTarget } from './ssh/target';
import { temporalClient } from './temporal-client';
import { FailureType } from '../common/failure-types';

export type CheckName = 'ssh' | 'app' | 'http' | 'https' | 'postgresql';

export interface CheckResult {
  /** "host/check", what alerts and the remembered state are keyed by. */
  key: string;
  host: string;
  check: CheckName;
  /** unknown: could not be probed this time (e.g. no SSH); it keeps its previous state. */
  state: 'ok' | 'failing' | 'unknown';
  detail: string;
}

/** What a health-check run leaves for the next one: the checks it knows to be failing (and alerted). */
export interface HealthMemory {
  failing: string[];
}

const PROBE_TIMEOUT_MS = 5000;

export async function healthCheckHosts({ env }: { env: string }): Promise<string[]> {
  return Object.keys(environment(env).hosts);
}

function result(host: string, check: CheckName, state: CheckResult['state'], detail: string): CheckResult {
  return { key: `${host}/${check}`, host, check, state, detail };
}

async function probe(host: string, check: CheckName, fn: () => Promise<string>): Promise<CheckResult> {
  try {
    return result(host, check, 'ok', await fn());
  } catch (err) {
    return result(host, check, 'failing', (err as Error).message.slice(0, 500));
  }
}

/** Every check of one host's roles. Never fails for a failing probe: it reports it. */
export async function checkHost({ env, host }: { env: string; host: string }): Promise<CheckResult[]> {
  const e = environment(env);
  const h = e.hosts[host];
  if (!h) throw ApplicationFailure.nonRetryable(`no host ${JSON.stringify(host)} in ${env}`, FailureType.BadInput);
  const target = resolveTarget({ env, host });
  const results: CheckResult[] = [];

  const ssh = await probe(host, 'ssh', async () => {
    if (target.transport === 'openssh') {
      const { code } = await execOpenSsh(target, 'true', {}, { fresh: true }).result;
      if (code !== 0) throw new Error(`a fresh login ran \`true\`, which exited with ${String(code)}`);
      return `${target.username}@${target.address}:${target.port} logs in`;
    }
    const fresh = new SshPool();
    try {
      await (await fresh.get(target)).execCommand('true');
      return `${target.username}@${target.address}:${target.port} logs in`;
    } finally {
      await fresh.closeAll();
    }
  });
  results.push(ssh);
  const overSsh = async (check: CheckName, fn: () => Promise<string>) =>
    results.push(
      ssh.state === 'ok' ? await probe(host, check, fn) : result(host, check, 'unknown', 'not probed: no SSH'),
    );

  if (h.roles.includes('web')) {
    let live: string | undefined;
    try {
      live = h.colour ? await liveHost({ env }) : host;
    } catch (err) {
      results.push(
        result(
          host,
          'app',
          'unknown',
          `not probed: the live colour is unknown (${(err as Error).message.slice(0, 200)})`,
        ),
      );
    }
    // The idle colour is stopped by design between deploys.
    if (live === host) {
      await overSsh('app', async () => {
        const { url, status, stderr } = await probeHealth(target, appHealthUrl(e, host), 15_000);
        if (status !== 200) throw new Error(`${url} answered ${status || 'nothing'}${stderr ? `: ${stderr}` : ''}`);
        return `${url} answers 200`;
      });
    }
  }

  if (h.roles.includes('lb')) {
    const { healthPath, domains } = e.vars;
    results.push(await probe(host, 'http', () => httpProbe(`http://${h.address}${healthPath}`)));
    results.push(await probe(host, 'https', () => httpsProbe(h.address, healthPath, domains[0])));
  }

  if (h.roles.includes('db')) {
    const { hostname, port } = databaseEndpoint(e.vars.databaseUrl, h.address);
    await overSsh('postgresql', async () => {
      const out = await runOn(target, ['pg_isready', '-h', hostname, '-p', port, '-t', '5'], {
        okExitCodes: [0, 1, 2, 3],
        timeoutMs: 15_000,
      });
      if (out.exitCode !== 0)
        throw new Error(`pg_isready on ${hostname}:${port}: ${out.stdout.trim() || `exit ${out.exitCode}`}`);
      return `${hostname}:${port} accepts connections`;
    });
  }
  return results;
}

function databaseEndpoint(url: string | undefined, fallback: string): { hostname: string; port: string } {
  try {
    const u = new URL(url ?? '');
    return { hostname: u.hostname || fallback, port: u.port || '5432' };
  } catch {
    return { hostname: fallback, port: '5432' };
  }
}

function httpProbe(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: PROBE_TIMEOUT_MS, agent: false }, (res) => {
      res.resume();
      if (res.statusCode === 200) resolve(`${url} answers 200`);
      else reject(new Error(`${url} answered ${res.statusCode}`));
    });
    req.once('timeout', () => req.destroy(new Error(`${url}: no answer within ${PROBE_TIMEOUT_MS / 1000}s`)));
    req.once('error', (err) => reject(new Error(`${url}: ${err.message}`)));
  });
}

/** HTTPS as a client of the domain sees it; the certificate is read, and failing only when expired. */
function httpsProbe(address: string, path: string, domain: string | undefined): Promise<string> {
  const shown = `https://${domain ?? address}${path} (at ${address})`;
  return new Promise((resolve, reject) => {
    const req = https.get(
      {
        host: address,
        port: 443,
        path,
        servername: domain,
        headers: domain ? { host: domain } : {},
        rejectUnauthorized: false,
        timeout: PROBE_TIMEOUT_MS,
        agent: false,
      },
      (res) => {
        res.resume();
        const cert = (res.socket as TLSSocket).getPeerCertificate();
        const expires = cert?.valid_to ? new Date(cert.valid_to) : undefined;
        if (res.statusCode !== 200) return reject(new Error(`${shown} answered ${res.statusCode}`));
        if (expires && expires <= new Date())
          return reject(new Error(`${shown}: its certificate expired at ${expires.toISOString()}`));
        resolve(`${shown} answers 200${expires ? `; certificate valid until ${expires.toISOString()}` : ''}`);
      },
    );
    req.once('timeout', () => req.destroy(new Error(`${shown}: no answer within ${PROBE_TIMEOUT_MS / 1000}s`)));
    req.once('error', (err) => reject(new Error(`${shown}: ${err.message}`)));
  });
}

const LOOK_BACK = 20;
const WAIT_FOR_EARLIER_MS = 120_000;

/**
 * What the previous health-check run of the environment knew to be failing: the result of the
 * latest one that completed, read from Temporal (durable, whichever worker ran it). A run
 * started earlier and still running is waited for, so two checks never alert the same change
 * twice. Runs that failed (e.g. their alert could not be sent) recorded nothing and are skipped,
 * so their alert is sent by the next run.
 */
export async function previousHealth({
  env,
  runId,
  startedAt,
}: {
  env: string;
  runId: string;
  startedAt: string;
}): Promise<HealthMemory & { from?: string }> {
  if (!ENV_NAME.test(env))
    throw ApplicationFailure.nonRetryable(`invalid environment name ${JSON.stringify(env)}`, FailureType.BadInput);
  const client = await temporalClient();
  const before = new Date(startedAt);
  // Only the engine's own health checks, on its task queue: a run of someone else's could
  // "remember" a failure as known and silence its alert.
  const queue = Context.current().info.taskQueue.replace(/'/g, '');
  const query =
    `${RunbookNameKey.name} = 'health-check' AND WorkflowType = 'healthCheck' AND TaskQueue = '${queue}'` +
    ` AND ${RunbookEnvKey.name} = '${env}'`;
  // Visibility lists running runs first, then the most recently closed; the first few are the
  // candidates, taken newest start first.
  const candidates = [];
  for await (const run of client.workflow.list({ query })) {
    if (run.workflowId !== runId && run.startTime < before) candidates.push(run);
    if (candidates.length >= LOOK_BACK) break;
  }
  candidates.sort((a, b) => b.startTime.getTime() - a.startTime.getTime());
  for (const run of candidates) {
    const outcome = await settled(client.workflow.getHandle(run.workflowId, run.runId).result(), WAIT_FOR_EARLIER_MS);
    const memory = (outcome as { health?: HealthMemory } | undefined)?.health;
    if (memory && Array.isArray(memory.failing)) return { failing: memory.failing, from: run.workflowId };
  }
  return { failing: [] };
}

/** The value of `promise`, or undefined when it fails or takes longer than `ms`; heartbeats meanwhile. */
async function settled<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const beat = setInterval(() => Context.current().heartbeat(), 5000);
  try {
    return await Promise.race([
      promise.catch(() => undefined),
      new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms))),
    ]);
  } finally {
    clearTimeout(timer);
    clearInterval(beat);
  }
}

export interface HealthAlert {
  env: string;
  runId: string;
  event: 'failing' | 'recovered';
  /** The checks this alert is about. */
  checks: { key: string; detail: string }[];
  /** Every check failing now, for context. */
  failing: string[];
}

/** POSTs the alert to vars.alertWebhook (read and expanded on the worker); false when none is set. */
export async function sendHealthAlert(alert: HealthAlert): Promise<boolean> {
  const e = environment(alert.env);
  // An http(s) URL or ${VAR}: the schema (src/vars.ts) refused anything else.
  const webhook = e.vars.alertWebhook;
  if (webhook === undefined) return false;
  const url = webhookUrl(webhook, `${alert.env}: vars.alertWebhook`);
  await postJson(url, {
    ...alert,
    event: alert.event === 'failing' ? 'health_failing' : 'health_recovered',
    at: new Date().toISOString(),
  });
  return true;
}
