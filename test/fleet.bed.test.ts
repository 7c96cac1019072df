// Fleets on the test bed (`testbed up --web N`, 8 hosts here so the file stays within minutes in
// CI; RUNBOOK_TEST_FLEET=20 runs the issue's 20, RUNBOOK_TEST_FLEET=100 the on-demand tier of
// docs/testing.md): blue/green with three hosts per colour (half the fleet each from 40 hosts),
// rolling deploys with an error budget, a worker SIGKILLed mid-batch, and a command over the
// fleet, with hosts broken or unreachable before it starts. Every request through the fleet's
// load balancer is counted on fresh connections.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { parse as parseYaml } from 'yaml';
import { resolveRef, upstreamServers } from '../activities';
import { markUpstream, setUpstream } from '../activities/upstream';
import { runCommand } from '../activities/hosts';
import { pool } from '../activities/ssh/pool';
import { cacheDir, projectRoot } from '../src/config';
import type { Environment } from '../src/inventory';
import type { HostRecord, RunResult } from '../common/shared';
import { cutBatches } from '../common/fleet-plan';
import { bedInventoryFrom } from './bed-inventory';
import { onConsole } from './bed-checks';
import { compensated } from './run-ended';
import { runbookCli, startTestRun, uniqueQueue, waitForProgress, withWorker } from './helpers';
import { describeCounts, idleConnectionKept, watchLb } from './lb-watch';
import { startWorkerProcess } from './worker-process';
import { recordHistory } from './history-recorder';

/** At least 8: three hosts per colour, and batches of 1, 2 and 5 under `1,25%,100%`. */
const FLEET = Math.max(8, Number(process.env.RUNBOOK_TEST_FLEET) || 8);
/** Hosts per colour of the blue/green tests: three, or half the fleet from 40 hosts (50 + 50 at 100). */
const COLOUR = FLEET >= 40 ? Math.floor(FLEET / 2) : 3;
const FLEET_LB = 'http://10.213.0.31/health';
const stateDir = process.env.TESTBED_STATE_DIR || '/run/runbook-testbed';
const fleetYaml = path.join(stateDir, 'inventory', 'fleet.yaml');
const web = Array.from({ length: FLEET }, (_, i) => `web-${String(i + 1).padStart(2, '0')}`);
/** The rolling deploys' batches: `1,25%,100%` of the fleet, cut as the run cuts them. */
const BATCHES = '1,25%,100%';
const batches = cutBatches(web, BATCHES);
/** How the dry run lists a batch's hosts. */
const listed = (hosts: string[]) =>
  hosts.length > 12 ? `${hosts.slice(0, 12).join(', ')} and ${hosts.length - 12} more` : hosts.join(', ');
const hostsWord = (n: number) => `${n} ${n === 1 ? 'host' : 'hosts'}`;

/** `testbed.sh up --web N`: a different N rebuilds the fleet from scratch. */
async function fleetUp(size: number): Promise<number> {
  const started = Date.now();
  const { stderr } = await promisify(execFile)(
    'bash',
    [path.join(projectRoot, 'scripts', 'testbed', 'testbed.sh'), 'up', '--web', String(size)],
    { maxBuffer: 16 << 20 },
  );
  const ms = Date.now() - started;
  // Where the time went, when it was long (the lines carry their time).
  if (ms > 60_000)
    console.log(
      stderr
        .split('\n')
        .map((l) => `        ${l}`)
        .join('\n'),
    );
  return ms;
}

/**
 * The fleet as `up --web N` leaves it, without rebuilding it: every host on v1.0.0 (its
 * expanded schema stays: old code runs on it), healed of any test hook, started, every one taking traffic.
 */
async function freshFleet(): Promise<void> {
  const reset =
    'rm -f /srv/app/.git/hooks/post-checkout && runuser -u app -- git -C /srv/app checkout -q --force v1.0.0' +
    ' && supervisorctl restart app >/dev/null';
  await eachHost(web, (h) => onConsole(h, reset));
  await setUpstream({ env: 'fleet', hosts: web });
}

async function served(env: string, host: string): Promise<string | undefined> {
  const r = await runCommand({
    env,
    host,
    argv: ['curl', '-sS', '--max-time', '5', 'http://127.0.0.1:8000/health'],
    okExitCodes: [0, 7, 28, 52, 56],
  });
  try {
    return (JSON.parse(r.stdout) as { commit?: string }).commit;
  } catch {
    return undefined;
  }
}

/**
 * `fn` on every host, at most 20 at a time: 100 SSH handshakes at once on 2 busy cores outlast the
 * pool's 10 s to connect, as the runbooks' own `fleetConcurrency` never asks of them.
 */
async function eachHost<T>(hosts: string[], fn: (host: string) => Promise<T>): Promise<Record<string, T>> {
  const out: [string, T][] = [];
  for (let i = 0; i < hosts.length; i += 20)
    out.push(...(await Promise.all(hosts.slice(i, i + 20).map(async (h) => [h, await fn(h)] as [string, T]))));
  return Object.fromEntries(out);
}

async function servedByEach(env: string, hosts: string[]): Promise<Record<string, string | undefined>> {
  return eachHost(hosts, (h) => served(env, h));
}

/** How often supervisor started the app on each host: a host changed once is started once more. */
async function starts(hosts: string[]): Promise<Record<string, number>> {
  return eachHost(hosts, async (h) => {
    const r = await runCommand({
      env: 'fleet',
      host: h,
      argv: ['grep', '-c', "spawned: 'app'", '/var/log/supervisor/supervisord.log'],
      okExitCodes: [0, 1],
    });
    return Number(r.stdout.trim());
  });
}

/**
 * Makes the host unreachable over SSH, the pooled connection included: sshd's port answers a reset
 * (the host and its app stay up). `reachable` undoes it.
 */
const SSH_REJECT = 'INPUT -p tcp --dport 22 -j REJECT --reject-with tcp-reset';
const unreachable = (host: string) => onConsole(host, `iptables -I ${SSH_REJECT}`);
const reachable = (host: string) => onConsole(host, `while iptables -D ${SSH_REJECT} 2>/dev/null; do :; done`);

/**
 * Makes `commit` fail its health check on `host` only: a post-checkout hook breaks health.py
 * when that commit is checked out; checking out another one (a rollback) heals it.
 */
async function breakRelease(host: string, commit: string): Promise<void> {
  await onConsole(
    host,
    `cat > /srv/app/.git/hooks/post-checkout <<'HOOK'
#!/bin/sh
[ "$(git rev-parse HEAD)" = "${commit}" ] || exit 0
printf '\\ndef check():\\n    return 500, {"status": "error", "why": "broken on this host by the test"}\\n' >> health.py
HOOK
chmod 0755 /srv/app/.git/hooks/post-checkout`,
  );
}

function runFailure(err: unknown): RunResult {
  assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure, String(err));
  return err.cause.details?.[0] as RunResult;
}

const failedHosts = (r: RunResult) =>
  (r.progress.hosts ?? [])
    .filter((h: HostRecord) => h.outcome === 'failed')
    .map((h) => h.host)
    .sort();

describe(`fleets on the test bed (up --web ${FLEET})`, function () {
  this.timeout(600_000);
  const taskQueue = uniqueQueue('fleet');
  let previousDirs: string | undefined;
  let v100 = '';
  let v110 = '';

  before(async function () {
    // 100 hosts took 7 to 12 minutes to come up on 2 busy cores (docs/testing.md).
    this.timeout(Math.max(600_000, FLEET * 15_000));
    const ms = await fleetUp(FLEET);
    console.log(`      testbed up --web ${FLEET}: ${(ms / 1000).toFixed(1)}s`);
    previousDirs = process.env.RUNBOOK_INVENTORY_DIR;
    process.env.RUNBOOK_INVENTORY_DIR = [path.dirname(fleetYaml), previousDirs].filter(Boolean).join(':');
    v100 = await resolveRef({ env: 'fleet', host: web[0], ref: 'v1.0.0' });
    v110 = await resolveRef({ env: 'fleet', host: web[0], ref: 'v1.1.0' });
  });

  after(async function () {
    process.env.RUNBOOK_INVENTORY_DIR = previousDirs;
    // Closed while the hosts still answer: a connection ended after its host is gone waits in
    // FIN-WAIT-1 for minutes and keeps mocha from exiting.
    await pool.closeAll();
    // RUNBOOK_TEST_FLEET_KEEP=1 leaves the fleet up for a bench run next (it takes minutes to make).
    if (!process.env.RUNBOOK_TEST_FLEET_KEEP) await fleetUp(0);
  });

  it(`generates the fleet inventory: ${FLEET} web hosts behind lb-fleet, all taking traffic`, async function () {
    const env = parseYaml(fs.readFileSync(fleetYaml, 'utf8')) as Environment;
    assert.deepEqual(
      Object.keys(env.hosts).filter((h) => env.hosts[h].roles.includes('web')),
      web,
    );
    assert.deepEqual(
      (await upstreamServers({ env: 'fleet' })).map((s) => s.host),
      web,
    );
    assert.deepEqual(new Set(Object.values(await servedByEach('fleet', web))), new Set([v100]));
  });

  it('keeps an idle keep-alive client connection through a drain and a put-back', async function () {
    const last = web[FLEET - 1];
    const kept = await idleConnectionKept(FLEET_LB, async () => {
      await markUpstream({ env: 'fleet', hosts: [last], down: true });
      await markUpstream({ env: 'fleet', hosts: [last], down: false });
    });
    assert.equal(kept, true, 'lb-fleet closed an idle client connection when its upstream changed');
    // What the split avoids: a reload of the nginx that holds the clients closes their idle connections.
    const closed = await idleConnectionKept(FLEET_LB, async () => {
      await onConsole('lb-fleet', 'nginx -s reload');
    });
    assert.equal(closed, false, 'a reload of the client-facing nginx kept an idle connection open');
  });

  describe(`blue/green with ${COLOUR} hosts per colour`, function () {
    let inventory: { remove(): void } | undefined;
    const blue = web.slice(0, COLOUR);
    const green = web.slice(COLOUR, 2 * COLOUR);

    before(async function () {
      inventory = bedInventoryFrom(fleetYaml, 'fleet-bg', (env) => {
        env.hosts = Object.fromEntries(
          Object.entries(env.hosts).filter(
            ([name, h]) => !h.roles.includes('web') || [...blue, ...green].includes(name),
          ),
        );
        for (const h of blue) env.hosts[h].colour = 'blue';
        for (const h of green) env.hosts[h].colour = 'green';
        for (const s of Object.values(env.services)) s.hosts = s.hosts.filter((h) => h in env.hosts);
      });
      await setUpstream({ env: 'fleet-bg', hosts: blue });
    });
    after(() => inventory?.remove());

    it('a health check failing on one idle host leaves all traffic on the old colour', async function () {
      await breakRelease(green[1], v110);
      try {
        await withWorker(taskQueue, async () => {
          const handle = await startTestRun(taskQueue, {
            runbook: 'deploy',
            params: { ref: 'v1.1.0', 'rollback-window': '1s' },
            env: 'fleet-bg',
          });
          const result = await compensated(handle.result());
          assert.match(
            result.progress.reason ?? '',
            new RegExp(`1 of ${COLOUR} hosts failed: ${green[1]}: .*health check answered 500`),
          );
          const check = result.progress.steps.find((s) => s.name === `health-check green (${COLOUR} hosts)`);
          assert.equal(check?.status, 'failed');
        });
      } finally {
        // The hook and what it broke: the next deploy checks out the same commit, which keeps local changes.
        await onConsole(
          green[1],
          'rm -f /srv/app/.git/hooks/post-checkout && runuser -u app -- git -C /srv/app checkout -q -- .',
        );
      }
      assert.deepEqual(
        (await upstreamServers({ env: 'fleet-bg' })).map((s) => s.host),
        blue,
      );
      assert.deepEqual(await servedByEach('fleet-bg', blue), Object.fromEntries(blue.map((h) => [h, v100])));
      assert.deepEqual(
        await servedByEach('fleet-bg', green),
        Object.fromEntries(green.map((h) => [h, undefined])),
        'every idle host is stopped again',
      );
    });

    it(`deploys to all ${COLOUR} idle hosts and switches to them all with no failed request`, async function () {
      await withWorker(taskQueue, async () => {
        const watcher = watchLb(FLEET_LB);
        const handle = await startTestRun(taskQueue, {
          runbook: 'deploy',
          params: { ref: 'v1.1.0', 'rollback-window': '1s' },
          env: 'fleet-bg',
        });
        const result = (await handle.result()) as RunResult;
        const counts = await watcher.stop();
        console.log(`      ${describeCounts(`blue/green over ${COLOUR}+${COLOUR} hosts`, counts)}`);
        assert.equal(result.state, 'COMPLETED');
        assert.equal(counts.failed, 0, `${describeCounts('blue/green', counts)}: ${counts.errors.join('; ')}`);
        // lb-fleet's client-facing nginx is never reloaded by a deploy: no keep-alive connection is closed.
        assert.equal(counts.keepAlive.resets + counts.keepAlive.failed, 0, describeCounts('keep-alive', counts));
        assert.ok(counts.total > 20, `only ${counts.total} requests were made`);
        assert.deepEqual(counts.commits, [v100, v110]);
        assert.deepEqual(result.progress.steps.map((s) => s.name).slice(2, 5), [
          `install on green (${COLOUR} hosts) (expand migrations)`,
          `start green (${COLOUR} hosts)`,
          `health-check green (${COLOUR} hosts)`,
        ]);
      });
      assert.deepEqual(
        (await upstreamServers({ env: 'fleet-bg' })).map((s) => s.host),
        green,
      );
      assert.deepEqual(await servedByEach('fleet-bg', green), Object.fromEntries(green.map((h) => [h, v110])));
      assert.deepEqual(
        await servedByEach('fleet-bg', blue),
        Object.fromEntries(blue.map((h) => [h, undefined])),
        'the old colour is stopped',
      );
    });

    // After the test above: green serves v1.1.0, blue is idle and stopped.
    it('--max-failures 1: a host failing its health check is left out, the others serve', async function () {
      await breakRelease(blue[1], v100);
      try {
        await withWorker(taskQueue, async () => {
          const handle = await startTestRun(taskQueue, {
            runbook: 'deploy',
            params: { ref: 'v1.0.0', 'rollback-window': '1s', 'max-failures': '1', 'min-capacity': '66%' },
            env: 'fleet-bg',
          });
          const result = (await handle.result()) as RunResult;
          assert.equal(result.state, 'COMPLETED', result.progress.reason);
          assert.deepEqual(failedHosts(result), [blue[1]]);
          const why = result.progress.hosts?.find((h) => h.host === blue[1])?.error ?? '';
          assert.match(why, /left out at health check: .*health check answered 500/);
          assert.equal(result.progress.steps.find((s) => s.name === 'check the capacity floor')?.status, 'done');
        });
      } finally {
        await onConsole(
          blue[1],
          'rm -f /srv/app/.git/hooks/post-checkout && runuser -u app -- git -C /srv/app checkout -q -- .',
        );
      }
      const serving = blue.filter((h) => h !== blue[1]);
      assert.deepEqual(
        (await upstreamServers({ env: 'fleet-bg' })).map((s) => s.host),
        serving,
      );
      assert.deepEqual(await servedByEach('fleet-bg', serving), Object.fromEntries(serving.map((h) => [h, v100])));
      assert.deepEqual(
        await servedByEach('fleet-bg', [blue[1], ...green]),
        Object.fromEntries([blue[1], ...green].map((h) => [h, undefined])),
        'the host left out and the old colour are stopped',
      );
    });
  });

  describe(`rolling-deploy over ${FLEET} hosts, --batches ${BATCHES} --max-failures 2`, function () {
    const params = { ref: 'v1.1.0', batches: BATCHES, 'max-failures': '2' };
    const stepNames = batches.map((b, i) => `batch ${i + 1}/${batches.length} (${hostsWord(b.length)})`);

    it('dry run: batches, hosts and error budget; a batch that drains every host is refused', async function () {
      // The dry run reads the upstream as it is now: every web host serving, as the run will find it.
      await freshFleet();
      const dry = await withWorker(taskQueue, () =>
        runbookCli(
          [
            'start',
            'rolling-deploy',
            '--env',
            'fleet',
            '--ref',
            'v1.1.0',
            '--batches',
            BATCHES,
            '--max-failures',
            '2',
            '--dry-run',
          ],
          { RUNBOOK_TASK_QUEUE: taskQueue },
        ),
      );
      assert.equal(dry.code, 0, dry.stderr);
      assert.ok(dry.stdout.includes(`error budget: 2 of ${FLEET} hosts may fail`), dry.stdout);
      batches.forEach((b, i) =>
        assert.ok(dry.stdout.includes(`${stepNames[i]} on ${listed(b)}:`), `${stepNames[i]}:\n${dry.stdout}`),
      );
      const all = await runbookCli([
        'start',
        'rolling-deploy',
        '--env',
        'fleet',
        '--ref',
        'v1.1.0',
        '--batches',
        '100%',
        '--dry-run',
      ]);
      assert.equal(all.code, 2, all.stdout);
      assert.ok(
        all.stderr.includes(
          `a batch of ${FLEET} of ${FLEET} hosts would leave the load balancer with no host taking traffic`,
        ),
        all.stderr,
      );
    });

    it('completes with 2 broken hosts rolled back, drained and listed, and no failed request', async function () {
      await freshFleet();
      // One in the second batch, one in the last.
      const broken = [batches[1][batches[1].length - 1], batches[2][2]];
      for (const h of broken) await breakRelease(h, v110);
      await withWorker(taskQueue, async () => {
        const watcher = watchLb(FLEET_LB);
        const handle = await startTestRun(taskQueue, { runbook: 'rolling-deploy', params, env: 'fleet' });
        const result = (await handle.result()) as RunResult;
        const counts = await watcher.stop();
        console.log(`      ${describeCounts(`rolling over ${FLEET} hosts, 2 broken`, counts)}`);
        assert.equal(result.state, 'COMPLETED', result.progress.reason);
        assert.equal(counts.failed, 0, `${describeCounts('rolling', counts)}: ${counts.errors.join('; ')}`);
        // lb-fleet's client-facing nginx is never reloaded by a deploy: no keep-alive connection is closed.
        assert.equal(counts.keepAlive.resets + counts.keepAlive.failed, 0, describeCounts('keep-alive', counts));
        assert.deepEqual(failedHosts(result), broken);
        for (const h of (result.progress.hosts ?? []).filter((r) => r.outcome === 'failed')) {
          assert.equal(h.rolledBack, true, `${h.host} rolled back`);
          assert.equal(h.drained, true, `${h.host} left drained`);
        }
        assert.deepEqual(result.progress.steps.map((s) => s.name).slice(3), stepNames);
        await recordHistory(handle, 'rolling-deploy-completed');
      });
      const upstream = await upstreamServers({ env: 'fleet' });
      assert.deepEqual(
        upstream.filter((s) => s.down).map((s) => s.host),
        broken,
      );
      const each = await servedByEach('fleet', web);
      for (const h of web) assert.equal(each[h], broken.includes(h) ? v100 : v110, h);
    });

    it('leaves out a host that cannot be read and one that cannot be reached; the rest deploy', async function () {
      await freshFleet();
      // Broken before the run starts: `git rev-parse HEAD` fails on one, as on a host with no git;
      // the other's sshd answers no one (its pooled connection included), one of the second batch.
      const unreadable = batches[0][0];
      const unreached = batches[1][0];
      const out = [unreadable, unreached].sort();
      await onConsole(unreadable, 'chmod 000 /srv/app/.git');
      await unreachable(unreached);
      try {
        await withWorker(taskQueue, async () => {
          const watcher = watchLb(FLEET_LB);
          const handle = await startTestRun(taskQueue, { runbook: 'rolling-deploy', params, env: 'fleet' });
          const result = (await handle.result()) as RunResult;
          const counts = await watcher.stop();
          console.log(`      ${describeCounts(`rolling over ${FLEET} hosts, 2 left out before batch 1`, counts)}`);
          assert.equal(result.state, 'COMPLETED', result.progress.reason);
          assert.equal(counts.failed, 0, `${describeCounts('rolling', counts)}: ${counts.errors.join('; ')}`);
          assert.deepEqual(failedHosts(result), out);
          for (const host of out) {
            const record = result.progress.hosts!.find((h) => h.host === host)!;
            assert.deepEqual([record.batch, record.drained], [0, true], host);
            assert.match(record.error ?? '', /cannot be read/, host);
          }
          const reached = result.progress.hosts!.find((h) => h.host === unreached)!;
          assert.match(reached.error ?? '', /cannot connect|connection lost|ECONNRE/, 'says why');
        });
        const upstream = await upstreamServers({ env: 'fleet' });
        assert.deepEqual(
          upstream.filter((s) => s.down).map((s) => s.host),
          out,
          'left drained',
        );
      } finally {
        await onConsole(unreadable, 'chmod 755 /srv/app/.git');
        await reachable(unreached);
      }
      const each = await servedByEach('fleet', web);
      for (const h of web) assert.equal(each[h], out.includes(h) ? v100 : v110, h);
    });

    it('stops with 3 broken hosts and rolls back every changed host: all serve the old commit', async function () {
      await freshFleet();
      // The third failure spends the budget in the last batch.
      const broken = [batches[1][0], batches[2][1], batches[2][3]];
      for (const h of broken) await breakRelease(h, v110);
      await withWorker(taskQueue, async () => {
        const watcher = watchLb(FLEET_LB);
        const handle = await startTestRun(taskQueue, { runbook: 'rolling-deploy', params, env: 'fleet' });
        const result = await compensated(handle.result());
        const counts = await watcher.stop();
        console.log(`      ${describeCounts(`rolling over ${FLEET} hosts, 3 broken`, counts)}`);
        assert.equal(counts.failed, 0, `${describeCounts('rolling', counts)}: ${counts.errors.join('; ')}`);
        // lb-fleet's client-facing nginx is never reloaded by a deploy: no keep-alive connection is closed.
        assert.equal(counts.keepAlive.resets + counts.keepAlive.failed, 0, describeCounts('keep-alive', counts));
        assert.match(result.progress.reason ?? '', /error budget spent: 3 hosts failed/);
        assert.deepEqual(
          result.progress.compensations.map((c) => c.step),
          [...stepNames].reverse(),
        );
        assert.ok(result.progress.compensations.every((c) => c.status === 'done'));
      });
      const each = await servedByEach('fleet', web);
      assert.deepEqual(
        Object.entries(each).filter(([, c]) => c !== v100),
        [],
        'every host serves the old commit',
      );
    });

    it('resumes after its worker is SIGKILLed during a batch, and changes no host twice', async function () {
      await freshFleet();
      const before = await starts(web);
      const worker = await startWorkerProcess(taskQueue);
      let second: Awaited<ReturnType<typeof startWorkerProcess>> | undefined;
      try {
        const handle = await startTestRun(taskQueue, { runbook: 'rolling-deploy', params, env: 'fleet' });
        await waitForProgress(
          handle,
          (p) => p.steps.some((s) => s.name === stepNames[2] && s.status === 'running'),
          'the last batch',
        );
        await new Promise((r) => setTimeout(r, 1500));
        await worker.kill('SIGKILL');
        second = await startWorkerProcess(taskQueue);
        const result = (await handle.result()) as RunResult;
        assert.equal(result.state, 'COMPLETED', result.progress.reason);
      } finally {
        await worker.kill('SIGKILL');
        await second?.kill('SIGTERM');
      }
      const after = await starts(web);
      assert.deepEqual(
        Object.fromEntries(web.map((h) => [h, after[h] - before[h]])),
        Object.fromEntries(web.map((h) => [h, 1])),
        'each host restarted exactly once',
      );
      const each = await servedByEach('fleet', web);
      assert.deepEqual(
        Object.entries(each).filter(([, c]) => c !== v110),
        [],
      );
    });
  });

  it(`run-command over ${FLEET} hosts: exit code, duration and output of each host`, async function () {
    await withWorker(taskQueue, async () => {
      const handle = await startTestRun(taskQueue, {
        runbook: 'run-command',
        params: { hosts: 'role:web', batch: '50%', argv: ['cat', '/etc/hostname'] },
        env: 'fleet',
      });
      const result = (await handle.result()) as RunResult;
      assert.equal(result.state, 'COMPLETED');
      const hosts = result.progress.hosts ?? [];
      assert.deepEqual(hosts.map((h) => [h.host, h.exitCode, h.outputTail]).sort(), web.map((h) => [h, 0, h]).sort());
      await recordHistory(handle, 'run-command-completed');
    });
  });

  it(`run-command over ${FLEET} hosts, one unreachable and one failing: both counted, the rest ran`, async function () {
    const batch = Math.ceil(FLEET / 4);
    // Both in the first batch: broken before any host ran the command.
    const [failing, unreached] = [web[1], web[2]];
    await onConsole(failing, 'touch /etc/testbed/broken');
    await unreachable(unreached);
    try {
      await withWorker(taskQueue, async () => {
        const argv = ['sh', '-c', 'test ! -e /etc/testbed/broken && hostname'];
        const handle = await startTestRun(taskQueue, {
          runbook: 'run-command',
          params: { hosts: 'role:web', batch: String(batch), 'max-failures': '2', argv },
          env: 'fleet',
        });
        const result = (await handle.result()) as RunResult;
        assert.equal(result.state, 'COMPLETED', result.progress.reason);
        const hosts = result.progress.hosts ?? [];
        assert.equal(hosts.length, FLEET);
        assert.deepEqual(failedHosts(result), [failing, unreached].sort());
        assert.equal(hosts.find((h) => h.host === failing)?.exitCode, 1);
        assert.match(hosts.find((h) => h.host === unreached)?.error ?? '', /cannot connect|connection lost|ECONNRE/);
        for (const h of hosts.filter((r) => r.outcome === 'ok')) assert.equal(h.outputTail, h.host);
      });
    } finally {
      await onConsole(failing, 'rm -f /etc/testbed/broken');
      await reachable(unreached);
    }
  });

  it("run-command's output is redacted of the environment's secrets, however the command prints them", async () => {
    // The command prints the database password without naming it: its hex digits shifted in argv, put back on the host.
    const secret = fs.readFileSync(path.join(cacheDir(), 'testbed', 'secrets', 'db-password'), 'utf8').trim();
    const [hex, shifted] = ['0123456789abcdef', 'abcdef0123456789'];
    const encoded = [...secret].map((c) => shifted[hex.indexOf(c)] ?? c).join('');
    const decode = `printf '%s\\n' "$0" | tr ${shifted} ${hex}`;
    await withWorker(taskQueue, async () => {
      const handle = await startTestRun(taskQueue, {
        runbook: 'run-command',
        params: { hosts: web[0], batch: '1', argv: ['sh', '-c', decode, encoded] },
        env: 'fleet',
      });
      const result = (await handle.result()) as RunResult;
      assert.equal(result.state, 'COMPLETED');
      const [shown] = result.progress.hosts ?? [];
      assert.equal(shown?.outputTail, '[redacted]');
      const status = await runbookCli(['status', handle.workflowId], { RUNBOOK_TASK_QUEUE: taskQueue });
      assert.ok(!status.stdout.includes(secret), 'the secret in runbook status');
    });
  });

  it('run-command, one host failing, --max-failures 0: stops after its batch, says which hosts ran', async function () {
    const batch = Math.ceil(FLEET / 3);
    // The first host of the second batch fails: the first two batches ran, the third never starts.
    const failing = web[batch];
    await onConsole(failing, 'touch /etc/testbed/broken');
    try {
      await withWorker(taskQueue, async () => {
        const argv = ['test', '!', '-e', '/etc/testbed/broken'];
        const handle = await startTestRun(taskQueue, {
          runbook: 'run-command',
          params: { hosts: 'role:web', batch: String(batch), 'max-failures': '0', argv },
          env: 'fleet',
        });
        let result: RunResult | undefined;
        try {
          await handle.result();
        } catch (err) {
          result = runFailure(err);
        }
        assert.ok(result, 'the run should have failed');
        const ran = web.slice(0, 2 * batch);
        assert.match(result.progress.reason ?? '', new RegExp(`stopped after batch 2: ran on ${ran.join(', ')}$`));
        const hosts = result.progress.hosts ?? [];
        assert.deepEqual(hosts.map((h) => h.host).sort(), ran);
        assert.deepEqual(
          hosts.filter((h) => h.exitCode !== 0).map((h) => h.host),
          [failing],
        );
        assert.ok(hosts.every((h) => typeof h.durationMs === 'number'));
        const status = await runbookCli(['status', handle.workflowId], { RUNBOOK_TASK_QUEUE: taskQueue });
        assert.ok(status.stdout.includes(`${failing}: batch 2, failed, exit 1`), status.stdout);
      });
    } finally {
      await onConsole(failing, 'rm -f /etc/testbed/broken');
    }
  });
});
