// The worker's systemd unit (deploy/systemd/): valid for systemd itself, and saying what the
// install docs promise: its own user, owner-only state, restart on failure, and a stop that leaves
// the worker its shutdown grace time before systemd kills it.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../src/config';
import { msToNumber } from '@temporalio/common/lib/time';
import { parseDuration } from '../common/duration';
import { workerOptions } from '../worker/worker-options';
import { nodeRefusal } from '../worker/check-node';

const unitFile = path.join(projectRoot, 'deploy', 'systemd', 'runbook-worker.service');

/** The unit's settings: section → key → values (a key may repeat, as Environment= does). */
function readUnit(): Record<string, Record<string, string[]>> {
  const unit: Record<string, Record<string, string[]>> = {};
  let section = '';
  for (const raw of fs.readFileSync(unitFile, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const head = /^\[(\w+)\]$/.exec(line);
    if (head) {
      section = head[1];
      unit[section] = {};
      continue;
    }
    const [key, ...rest] = line.split('=');
    (unit[section][key] ??= []).push(rest.join('='));
  }
  return unit;
}

describe('systemd unit of the worker', function () {
  it('passes systemd-analyze verify', function () {
    const checked = spawnSync('systemd-analyze', ['verify', unitFile], { encoding: 'utf8', cwd: '/' });
    assert.equal(checked.error, undefined, 'systemd-analyze is missing: scripts/system-packages.txt installs systemd');
    assert.equal(checked.status, 0, checked.stderr);
    const aboutOurs = checked.stderr.split('\n').filter((l) => l.includes('runbook-worker'));
    assert.deepEqual(aboutOurs, [], 'no warning about the unit');
  });

  it('runs the prebuilt bundle as its own user, owner-only, restarted on failure, stopped in grace time', function () {
    const { Service: s } = readUnit();
    assert.equal(s.User[0], 'runbook');
    assert.equal(s.Restart[0], 'on-failure');
    assert.equal(s.UMask[0], '0077');
    assert.equal(s.StateDirectoryMode[0], '0700');
    assert.equal(s.NoNewPrivileges[0], 'yes');
    // Node is checked first, with a clear refusal; then the worker entry of the installed package.
    assert.match(s.ExecStartPre[0], /^\/usr\/bin\/node \S+\/dist\/worker\/check-node\.js$/);
    assert.match(s.ExecStart[0], /^\/usr\/bin\/node .*\/lib\/node_modules\/runbook\/dist\/worker\/bin\.js$/);
    const env = Object.fromEntries(s.Environment.map((e) => e.split('=', 2)));
    assert.match(env.RUNBOOK_WORKFLOW_BUNDLE, /workflow-bundle\.js$/, 'no webpack at start-up');
    assert.match(env.RUNBOOK_CODEC_KEYS, /^\/etc\/runbook\//);
    assert.match(env.RUNBOOK_INVENTORY_DIR, /^\/etc\/runbook\//);
    assert.match(env.RUNBOOK_METRICS_ADDRESS, /^127\.0\.0\.1:\d+$/);
    // SIGTERM starts the graceful shutdown; systemd waits longer than the grace before SIGKILL.
    assert.equal(s.KillSignal[0], 'SIGTERM');
    const grace = msToNumber(workerOptions().shutdownGraceTime ?? 0);
    const stop = parseDuration(s.TimeoutStopSec[0], 'TimeoutStopSec');
    assert.ok(stop >= grace + 5000, `TimeoutStopSec ${stop} ms leaves the ${grace} ms grace time too little`);
  });

  it('refuses a Node older than package.json asks for, saying what to install', function () {
    assert.equal(nodeRefusal('20.0.0'), undefined);
    assert.equal(nodeRefusal('22.11.0'), undefined);
    const refusal = nodeRefusal('18.19.0', '/usr/bin/node');
    assert.match(refusal ?? '', /needs Node >= 20; \/usr\/bin\/node is Node 18\.19\.0 .*NodeSource.*docs\/install\.md/);
  });

  it("the install docs' recipe leaves policy files root's, readable by the worker, not its own", function () {
    const docs = fs.readFileSync(path.join(projectRoot, 'docs', 'install.md'), 'utf8');
    const at = docs.indexOf('\n## The worker as a service\n');
    assert.ok(at >= 0, 'docs/install.md has a "## The worker as a service" section');
    const section = docs.slice(at);
    const recipe = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    const lines = recipe.split('\n').filter((l) => /^\s*(install|chown|chmod)\b/.test(l));
    const policy = lines.filter((l) => /\/etc\/runbook(\/inventory)?( |\/?$)|inventory\/|people\.yaml/.test(l));
    assert.ok(policy.length >= 2, `the recipe installs the inventory: ${lines.join('; ')}`);
    for (const line of policy) {
      assert.match(line, /-o root -g runbook -m 0(750|640|644)\b/, line);
      assert.doesNotMatch(line, /-o runbook|chown runbook/, line);
    }
  });
});
