// provision on the test bed's fresh host: a failure at each step leaves the host exactly as it
// was (checked through the host's console, not through the runbook), and a full run gives the
// provisioned state, checked on the host; a second run changes nothing.
import { strict as assert } from 'node:assert';
import { prepareRun } from '../src/start';
import type { RunResult } from '../common/shared';
import { pool } from '../activities/ssh/pool';
import { runOn } from '../activities/ssh/run';
import { resolveTarget } from '../activities/ssh/target';
import { onConsole } from './bed-checks';
import { compensated } from './run-ended';
import { startTestRun, uniqueQueue, waitForProgress, withWorker } from './helpers';
import { failureDecisionSignal } from '../common/shared';
import { recordHistory } from './history-recorder';

const HOST = 'fresh';
const ADDRESS = '10.213.0.40';

/** Everything provision may change, as text: equal snapshots mean an equal host. */
function snapshot(): Promise<string> {
  return onConsole(
    HOST,
    `
    for f in /etc/passwd /etc/group /etc/shadow /etc/gshadow /etc/subuid /etc/subgid; do md5sum "$f" 2>&1; done
    find /etc/sudoers.d /etc/ssh /etc/fail2ban /etc/apt/apt.conf.d /etc/supervisor /etc/nginx /etc/ufw /home /srv \\
      -printf '%p %y %m %u %g\\n' 2>/dev/null | sort
    find /etc/sudoers.d /etc/ssh /etc/fail2ban /etc/apt/apt.conf.d /etc/supervisor /etc/nginx /etc/ufw /home /srv \\
      -type f -exec md5sum {} + 2>/dev/null | sort
    for s in ssh nginx postgresql supervisor fail2ban; do
      service "$s" status >/dev/null 2>&1 && echo "$s running" || echo "$s stopped"
    done
    ufw status
    pg_lsclusters -h
    if pg_isready -q; then
      (cd / && runuser -u postgres -- psql -tA -c 'select rolname from pg_roles order by 1' \\
        -c 'select datname from pg_database order by 1')
    fi
    sshd -T 2>/dev/null | grep -E '^(permitrootlogin|passwordauthentication|kbdinteractiveauthentication) '
  `,
  );
}

async function canLogIn(user: string): Promise<boolean> {
  const target = resolveTarget({ env: 'local', host: HOST, login: user });
  pool.forget(target);
  try {
    await runOn(target, ['true'], { retryable: false, timeoutMs: 10_000 });
    return true;
  } catch {
    return false;
  } finally {
    pool.forget(target);
  }
}

async function provisionRun(taskQueue: string, record?: string): Promise<RunResult> {
  const handle = await startTestRun(taskQueue, { runbook: 'provision', env: 'local', params: { host: HOST } });
  const result = (await handle.result()) as RunResult;
  if (record) await recordHistory(handle, record);
  return result;
}

/** How each step is made to fail on the real host, and how the test repairs that afterwards. */
const FAULTS: { step: string; breaks: string; repair: string }[] = [
  {
    step: 'ops user with SSH key and sudo',
    breaks: 'chmod 0 /usr/sbin/useradd',
    repair: 'chmod 755 /usr/sbin/useradd',
  },
  { step: 'ops user can log in and sudo', breaks: 'chmod 0 /usr/bin/sudo', repair: 'chmod 4755 /usr/bin/sudo' },
  { step: 'sshd: no root login, no passwords', breaks: 'chmod 0 /usr/sbin/sshd', repair: 'chmod 755 /usr/sbin/sshd' },
  {
    // ufw reset copies its templates into /etc/ufw: a broken template makes enabling fail.
    step: 'firewall: only ssh, http, https',
    breaks: [
      'cp -a /usr/share/ufw/iptables/before.rules /root/before.rules.good',
      'echo "*broken" >> /usr/share/ufw/iptables/before.rules',
    ].join(' && '),
    repair: 'mv -f /root/before.rules.good /usr/share/ufw/iptables/before.rules',
  },
  {
    step: 'fail2ban on sshd',
    breaks: 'printf "[sshd]\\nfilter = no-such-filter\\n" > /etc/fail2ban/jail.d/zz-broken.local',
    repair: 'rm -f /etc/fail2ban/jail.d/zz-broken.local',
  },
  {
    step: 'unattended security upgrades',
    breaks: 'echo "Broken \\"" > /etc/apt/apt.conf.d/99broken',
    repair: 'rm -f /etc/apt/apt.conf.d/99broken',
  },
  {
    step: 'packages (versions recorded)',
    breaks: 'chmod 0 /usr/bin/dpkg-query',
    repair: 'chmod 755 /usr/bin/dpkg-query',
  },
  {
    step: 'database and its user',
    breaks: 'chmod 0 /usr/bin/pg_createcluster',
    repair: 'chmod 755 /usr/bin/pg_createcluster',
  },
  // Someone's /srv/app file is in the way: it must survive the rollback.
  {
    step: 'application directory',
    breaks: 'echo keep > /srv/app',
    repair: 'test "$(cat /srv/app)" = keep && rm -f /srv/app',
  },
  {
    // A directory where .env goes; the directory's previous owner and mode come back too.
    step: 'application .env from secrets',
    breaks: 'mkdir -p /srv/app/.env && chmod 755 /srv/app',
    repair: 'rm -rf /srv/app',
  },
  {
    step: 'process manager entry',
    breaks: 'echo "[program:broken" > /etc/supervisor/conf.d/zz-broken.conf',
    repair: 'rm -f /etc/supervisor/conf.d/zz-broken.conf',
  },
  {
    step: 'nginx site',
    breaks: 'echo "garbage;" > /etc/nginx/conf.d/zz-broken.conf',
    repair: 'rm -f /etc/nginx/conf.d/zz-broken.conf',
  },
  {
    // Port 80 dropped by a table of its own, which ufw's reset leaves alone: nginx runs but does not answer.
    step: 'verify services and ports',
    breaks: [
      'nft add table inet test_block',
      'nft add chain inet test_block input "{ type filter hook input priority -10; }"',
      'nft add rule inet test_block input tcp dport 80 drop',
    ].join(' && '),
    repair: 'nft delete table inet test_block',
  },
];

describe('provision on the test bed', function () {
  this.timeout(300_000);
  const taskQueue = uniqueQueue('provision');

  after(async function () {
    // Later suites log in to fresh as root: give them back a host that lets them.
    await onConsole(
      HOST,
      [
        'rm -f /etc/ssh/sshd_config.d/01-runbook-hardening.conf',
        'service ssh reload >/dev/null',
        'ufw --force disable >/dev/null || true',
      ].join('; '),
    );
  });

  it('refuses an unknown host, or an environment not saying what provisioned means, before any step', function () {
    assert.throws(
      () => prepareRun({ runbook: 'provision', env: 'local', params: { host: 'nope' }, initiator: 'operator' }),
      /no host "nope" in environment local/,
    );
    assert.throws(
      () =>
        prepareRun({ runbook: 'provision', env: 'local', params: { host: 'fresh;rm -rf /' }, initiator: 'operator' }),
      /--host .* is not valid/,
    );
    assert.throws(
      () => prepareRun({ runbook: 'provision', env: 'test', params: { host: 'worker' }, initiator: 'operator' }),
      /has no vars.provision/,
    );
  });

  for (const fault of FAULTS) {
    it(`a failure at "${fault.step}" leaves the host as it was`, async function () {
      const before = await snapshot();
      await onConsole(HOST, fault.breaks);
      let result: RunResult;
      try {
        result = await withWorker(taskQueue, () => compensated(provisionRun(taskQueue)));
      } finally {
        await onConsole(HOST, fault.repair);
      }
      const failed = result.progress.steps.filter((s) => s.error).map((s) => s.name);
      assert.deepEqual(failed, [fault.step], JSON.stringify(result.progress.steps, null, 1));
      assert.equal(result.state, 'COMPENSATED');
      assert.equal(await snapshot(), before);
      assert.ok(await canLogIn('root'), 'root can still log in');
    });
  }

  it('provisions the fresh host; a second run changes nothing and says so', async function () {
    const first = await withWorker(taskQueue, () => provisionRun(taskQueue, 'provision-completed'));
    assert.equal(first.state, 'COMPLETED');
    assert.ok(
      first.progress.steps.some((s) => s.changed),
      'the first run changed the host',
    );

    // Logins: the ops user with the key and sudo, root no longer, passwords never.
    assert.ok(await canLogIn('ops'), 'ops logs in with its key');
    assert.ok(!(await canLogIn('root')), 'root login is refused');
    const host = await onConsole(
      HOST,
      `
      sshd -T | grep -E '^(permitrootlogin|passwordauthentication) '
      runuser -u ops -- sudo -n id -un
      ufw status | sed -n '/^--/,$p'
      fail2ban-client status sshd | head -1
      grep -h Automatic-Reboot /etc/apt/apt.conf.d/*
      grep -c . /var/lib/runbook/packages.txt
      stat -c '%a %U %G' /srv/app /srv/app/.env
      grep -c '^DATABASE_URL=postgresql://app:' /srv/app/.env
      supervisorctl avail | grep -o '^app '
      for s in ssh nginx postgresql supervisor fail2ban; do
        service "$s" status >/dev/null 2>&1 && echo "$s running"
      done
    `,
    );
    for (const expected of [
      'permitrootlogin no',
      'passwordauthentication no',
      '\nroot\n',
      'Status for the jail: sshd',
      'Unattended-Upgrade::Automatic-Reboot "false";',
      '750 app app\n600 app app\n1\n',
      'app ',
      'ssh running\nnginx running\npostgresql running\nsupervisor running\nfail2ban running',
    ]) {
      assert.ok(host.includes(expected), `expected ${JSON.stringify(expected)} on the host:\n${host}`);
    }
    const allowed = [...host.matchAll(/^(\S+)(?: \(v6\))?\s+ALLOW/gm)].map((m) => m[1]);
    assert.deepEqual(
      [...new Set(allowed)].sort(),
      ['22/tcp', '443/tcp', '80/tcp'],
      `only 22, 80 and 443 are allowed:\n${host}`,
    );
    // The database user logs in with the password from the inventory's secret, over TCP.
    const db = await onConsole(HOST, 'set -a; . /srv/app/.env; psql "$DATABASE_URL" -tAc "select current_user"');
    assert.equal(db.trim(), 'app');
    // nginx answers from outside, through the firewall; PostgreSQL does not.
    const res = await fetch(`http://${ADDRESS}/`, { signal: AbortSignal.timeout(3000) });
    assert.ok(res.status >= 200, `nginx answered ${res.status}`);

    const before = await snapshot();
    const second = await withWorker(taskQueue, () => provisionRun(taskQueue));
    assert.equal(second.state, 'COMPLETED');
    assert.deepEqual(
      second.progress.steps.filter((s) => s.changed).map((s) => s.name),
      [],
      'the second run changed nothing',
    );
    assert.equal(await snapshot(), before);
  });
  // A compromised app owns /srv/app: it may put a symlink where provision, as root, writes.
  const shadow = () => onConsole(HOST, 'sha256sum /etc/shadow');

  it('refuses to write the .env through a symlink the app user planted; /etc/shadow is unchanged', async function () {
    const before = await shadow();
    await onConsole(HOST, 'runuser -u app -- ln -sfn /etc/shadow /srv/app/.env');
    let result: RunResult;
    try {
      result = await withWorker(taskQueue, () => compensated(provisionRun(taskQueue)));
      assert.equal((await onConsole(HOST, 'readlink /srv/app/.env')).trim(), '/etc/shadow', 'left for a person');
    } finally {
      await onConsole(HOST, 'rm -f /srv/app/.env');
    }
    const failed = result.progress.steps.filter((s) => s.error);
    assert.deepEqual(
      failed.map((s) => s.name),
      ['application .env from secrets'],
    );
    assert.match(
      failed[0].error ?? '',
      /\/srv\/app\/\.env is a symbolic link \(to \/etc\/shadow\); refusing to write through it/,
    );
    assert.equal(await shadow(), before, '/etc/shadow is unchanged');
  });

  it('puts the previous .env back by replacing a symlink planted during the run, never through it', async function () {
    const before = await shadow();
    // A previous .env to put back, and a fault after the .env step: port 80 dropped, so the
    // check fails and the run waits at its failure gate while the app user plants the link.
    await onConsole(
      HOST,
      `printf 'PREVIOUS=1\\n' > /srv/app/.env && chown app:app /srv/app/.env && chmod 600 /srv/app/.env
       nft add table inet test_block && nft add chain inet test_block input "{ type filter hook input priority -10; }"
       nft add rule inet test_block input tcp dport 80 drop`,
    );
    try {
      await withWorker(taskQueue, async () => {
        const handle = await startTestRun(taskQueue, {
          runbook: 'provision',
          env: 'local',
          params: { host: HOST },
          onFailure: 'ask',
          failureTimeoutMs: 10 * 60_000,
        });
        const waiting = await waitForProgress(handle, (p) => p.failureGate !== undefined, 'the failure gate');
        assert.equal(waiting.failureGate!.step, 'verify services and ports');
        assert.equal(
          waiting.steps.find((s) => s.name === 'application .env from secrets')?.changed,
          true,
          'the run wrote its .env',
        );
        await onConsole(HOST, 'runuser -u app -- ln -sfn /etc/shadow /srv/app/.env');
        await handle.signal(failureDecisionSignal, { decision: 'rollback', by: 'alice', comment: 'port 80' });
        const result = await compensated(handle);
        assert.deepEqual(result.progress.leftToUndo, [], 'every undo ran');
      });
    } finally {
      await onConsole(HOST, 'nft delete table inet test_block || true');
    }
    assert.equal(await shadow(), before, '/etc/shadow is unchanged');
    assert.equal(
      await onConsole(HOST, "stat -c '%F %a %U' /srv/app/.env && cat /srv/app/.env"),
      'regular file 600 app\nPREVIOUS=1\n',
    );
    // The host provisioned again, as the next suites expect it.
    assert.equal((await withWorker(taskQueue, () => provisionRun(taskQueue))).state, 'COMPLETED');
  });
});
