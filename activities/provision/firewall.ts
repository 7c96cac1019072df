// The host's own firewall (ufw): only the configured ports in, and fail2ban watching sshd.
import { ApplicationFailure } from '@temporalio/common';
import { runOn } from '../ssh/run';
import { resolveTarget } from '../ssh/target';
import { provisionConfig } from './config';
import { ensureFile, restoreFile } from './files';
import { merge, outcome, recordDir, script, type ProvisionRef, type StepOutcome } from './remote';
import { ensureRunning, putServiceBack } from './services';
import { FailureType } from '../../common/failure-types';

// $1 record dir, $2... ports. The previous /etc/ufw and whether ufw was active are kept the
// first time this run changes them.
const ENSURE_FIREWALL = `
record=$1; shift
want=$(for p in "$@"; do echo "ufw allow $p/tcp"; done)
status=$(ufw status verbose 2>&1 || true)
have=$(ufw show added 2>/dev/null | sed 1d || true)
if printf '%s\\n' "$status" | grep -qx 'Status: active' &&
  printf '%s\\n' "$status" | grep -q '^Default: deny (incoming)' && [ "$have" = "$want" ]; then
  echo unchanged; exit 0
fi
mkdir -p -m 0700 -- "$record"
if [ ! -e "$record/ufw.tar" ]; then
  if printf '%s\\n' "$status" | grep -qx 'Status: active'; then
    echo active > "$record/ufw.was"
  else
    echo inactive > "$record/ufw.was"
  fi
  tar -C /etc -cf "$record/ufw.tar.part" ufw && mv -- "$record/ufw.tar.part" "$record/ufw.tar"
fi
ufw --force reset >/dev/null
ufw default deny incoming >/dev/null
ufw default allow outgoing >/dev/null
for p in "$@"; do ufw allow "$p/tcp" >/dev/null; done
ufw --force enable >/dev/null
echo changed`;

const RESTORE_FIREWALL = `
record=$1
if [ ! -e "$record/ufw.tar" ]; then echo unchanged; exit 0; fi
ufw --force disable >/dev/null
rm -rf /etc/ufw
tar -C /etc -xf "$record/ufw.tar"
if [ "$(cat "$record/ufw.was")" = active ]; then ufw --force enable >/dev/null; fi
rm -f -- "$record/ufw.tar" "$record/ufw.was"
echo changed`;

export async function ensureFirewall(ref: ProvisionRef): Promise<StepOutcome> {
  const { openPorts } = provisionConfig(ref.env);
  const done = outcome(
    await script(ref, ENSURE_FIREWALL, [recordDir(ref.runId), ...openPorts.map(String)], { retryable: false }),
  );
  return done.changed ? { changed: true, detail: `ufw allows only ${openPorts.join(', ')}` } : done;
}

export async function restoreFirewall(ref: ProvisionRef): Promise<StepOutcome> {
  return outcome(await script(ref, RESTORE_FIREWALL, [recordDir(ref.runId)]));
}

const JAIL = '/etc/fail2ban/jail.d/runbook-sshd.local';

/** The address this worker reaches the host from, as the host sees it. */
async function controlAddress(ref: ProvisionRef): Promise<string> {
  const seen = (await runOn(resolveTarget(ref), ['printenv', 'SSH_CONNECTION'])).stdout.split(' ')[0]?.trim() ?? '';
  if (!/^[0-9a-fA-F.:]{2,45}$/.test(seen))
    throw ApplicationFailure.nonRetryable(
      `cannot tell which address we connect from (SSH_CONNECTION=${JSON.stringify(seen)})`,
      FailureType.ProvisionScript,
    );
  return seen;
}

export async function ensureFail2ban(ref: ProvisionRef): Promise<StepOutcome> {
  // Never ban the machine that runs the runbooks: its probes (is the ops user there yet?) are
  // failed logins too, and fail2ban reads the recent log when it starts.
  const trusted = ['127.0.0.1/8', '::1', await controlAddress(ref), ...provisionConfig(ref.env).trustedAddresses];
  const jail = await ensureFile(ref, {
    path: JAIL,
    // Debian's default sshd jail reads the systemd journal; hosts without journald log to auth.log.
    content: [
      '# Managed by runbook provision.',
      '[sshd]',
      'enabled = true',
      'backend = auto',
      'logpath = /var/log/auth.log',
      'maxretry = 5',
      'bantime = 1h',
      `ignoreip = ${[...new Set(trusted)].join(' ')}`,
      '',
    ].join('\n'),
    mode: '644',
    owner: 'root',
    group: 'root',
  });
  const running = await ensureRunning(ref, 'fail2ban', jail.changed, 'restart');
  // The server answers only once it has read its jails.
  await script(
    ref,
    [
      'for i in $(seq 1 50); do',
      '  fail2ban-client status sshd >/dev/null 2>&1 && exit 0',
      '  sleep 0.2',
      'done',
      'fail2ban-client status sshd >&2',
    ].join('\n'),
    [],
    { retryable: false, timeoutMs: 30_000 },
  );
  return merge(jail, running);
}

export async function restoreFail2ban(ref: ProvisionRef): Promise<StepOutcome> {
  const jail = await restoreFile(ref, JAIL);
  return merge(jail, await putServiceBack(ref, 'fail2ban', jail.changed, 'restart'));
}
