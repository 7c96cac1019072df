// Who can log in: an ops user with the operator's key and sudo, proven able to log in before
// sshd stops accepting root and passwords, so the operator is never locked out.
import { ApplicationFailure } from '@temporalio/common';
import { pool } from '../ssh/pool';
import { runOn } from '../ssh/run';
import { resolveTarget } from '../ssh/target';
import { environment } from '../env-vars';
import { provisionConfig } from './config';
import { ensureFile, restoreFile } from './files';
import { merge, onHost, outcome, recordDir, script, type ProvisionRef, type StepOutcome } from './remote';
import { FailureType } from '../../common/failure-types';

const SSHD_HARDENING = '/etc/ssh/sshd_config.d/01-runbook-hardening.conf';

function sudoersFile(user: string): string {
  return `/etc/sudoers.d/90-runbook-${user}`;
}

/**
 * The login this run uses: the ops user when it already works (a provisioned host refuses
 * root), else the inventory's bootstrap user (root on a fresh host).
 */
export async function reachHost({ env, host }: { env: string; host: string }): Promise<{ login: string }> {
  const { opsUser } = provisionConfig(env);
  try {
    await runOn(resolveTarget({ env, host, login: opsUser }), ['sudo', '-n', 'true'], {
      retryable: false,
      timeoutMs: 15_000,
    });
    return { login: opsUser };
  } catch {
    // Not provisioned yet (or the ops user is broken): the bootstrap user must do.
  }
  const bootstrap = environment(env).ssh.user;
  await runOn(resolveTarget({ env, host }), ['true'], { timeoutMs: 15_000 });
  return { login: bootstrap };
}

// $1 user, $2 record dir; the public key on stdin.
const ENSURE_USER = `
user=$1 record=$2
IFS= read -r key || [ -n "$key" ]
mkdir -p -m 0700 -- "$record"
state=unchanged
if ! id -u "$user" >/dev/null 2>&1; then
  : > "$record/created-user"
  useradd --create-home --shell /bin/bash --user-group "$user"
  # No password at all ("*"), rather than a locked one ("!"), which some sshd setups refuse for keys too.
  usermod -p '*' "$user"
  state=changed
fi
home=$(getent passwd "$user" | cut -d: -f6)
install -d -m 0700 -o "$user" -g "$user" -- "$home/.ssh"
auth=$home/.ssh/authorized_keys
if ! { [ -f "$auth" ] && grep -qxF -- "$key" "$auth"; }; then
  [ -e "$record/created-user" ] || printf '%s\\n' "$key" > "$record/added-key"
  printf '%s\\n' "$key" >> "$auth"
  chown "$user:$user" -- "$auth"; chmod 0600 -- "$auth"
  state=changed
fi
echo $state`;

// $1 user, $2 record dir.
const REMOVE_USER = `
user=$1 record=$2
if [ -e "$record/created-user" ]; then
  if id -u "$user" >/dev/null 2>&1; then
    pkill -KILL -u "$user" 2>/dev/null || true
    userdel --remove --force "$user" 2>/dev/null || userdel --force "$user"
  fi
  rm -f -- "$record/created-user"
  echo changed
elif [ -e "$record/added-key" ]; then
  home=$(getent passwd "$user" | cut -d: -f6)
  grep -vxF -f "$record/added-key" "$home/.ssh/authorized_keys" > "$home/.ssh/authorized_keys.runbook" || true
  chown "$user:$user" -- "$home/.ssh/authorized_keys.runbook"; chmod 0600 -- "$home/.ssh/authorized_keys.runbook"
  mv -f -- "$home/.ssh/authorized_keys.runbook" "$home/.ssh/authorized_keys"
  rm -f -- "$record/added-key"
  echo changed
else
  echo unchanged
fi`;

export async function ensureOpsUser(ref: ProvisionRef): Promise<StepOutcome> {
  const { opsUser, opsPublicKey } = provisionConfig(ref.env);
  const user = outcome(
    await script(ref, ENSURE_USER, [opsUser, recordDir(ref.runId)], { stdin: `${opsPublicKey}\n` }),
    `user ${opsUser} with its key`,
  );
  const sudo = await ensureFile(ref, {
    path: sudoersFile(opsUser),
    content: `# Managed by runbook provision.\n${opsUser} ALL=(ALL:ALL) NOPASSWD: ALL\n`,
    mode: '440',
    owner: 'root',
    group: 'root',
    check: ['visudo', '-cqf', sudoersFile(opsUser)],
  });
  return merge(user.changed ? user : { changed: false }, sudo);
}

export async function removeOpsUser(ref: ProvisionRef): Promise<StepOutcome> {
  const { opsUser } = provisionConfig(ref.env);
  const sudo = await restoreFile(ref, sudoersFile(opsUser));
  const user = outcome(await script(ref, REMOVE_USER, [opsUser, recordDir(ref.runId)]));
  pool.forget(resolveTarget({ env: ref.env, host: ref.host, login: opsUser }));
  return merge(sudo, user);
}

const TRANSIENT = new Set<string>([
  FailureType.SshUnreachable,
  FailureType.SshConnectionLost,
  FailureType.CommandTimedOut,
]);

/** A new login as the ops user, with its key, then sudo: the proof sshd hardening waits for. */
export async function verifyOpsLogin({ env, host }: { env: string; host: string }): Promise<{ login: string }> {
  const { opsUser } = provisionConfig(env);
  const target = resolveTarget({ env, host, login: opsUser });
  pool.forget(target);
  try {
    const who = await runOn(target, ['sudo', '-n', 'id', '-un'], { retryable: false, timeoutMs: 15_000 });
    if (who.stdout.trim() !== 'root') throw new Error(`sudo gave ${who.stdout.trim()}, not root`);
  } catch (err) {
    // The network or a loaded host (a connect or command timeout) proves nothing about the
    // login: retried. A refused key, or sudo refusing, is the answer: not retried.
    if (err instanceof ApplicationFailure && !err.nonRetryable && TRANSIENT.has(err.type ?? '')) throw err;
    throw ApplicationFailure.nonRetryable(
      `${opsUser} cannot log in to ${host} and sudo (${(err as Error).message}): ` +
        `root and password logins stay as they are`,
      FailureType.OpsLoginFailed,
    );
  }
  return { login: opsUser };
}

const SSHD_EFFECTIVE = `
out=$(sshd -T 2>/dev/null)
for want in 'permitrootlogin no' 'passwordauthentication no' 'kbdinteractiveauthentication no'; do
  printf '%s\\n' "$out" | grep -qx "$want" || { echo "sshd does not apply: $want" >&2; exit 3; }
done
echo unchanged`;

export async function hardenSshd(ref: ProvisionRef): Promise<StepOutcome> {
  const file = await ensureFile(ref, {
    path: SSHD_HARDENING,
    content: [
      '# Managed by runbook provision: keys only, and no root login.',
      'PermitRootLogin no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      '',
    ].join('\n'),
    mode: '644',
    owner: 'root',
    group: 'root',
    check: ['sshd', '-t'],
  });
  if (file.changed) await onHost(ref, ['service', 'ssh', 'reload']);
  // An earlier drop-in could still win (sshd keeps the first value it reads): check what applies.
  await script(ref, SSHD_EFFECTIVE, [], { retryable: false });
  return file;
}

export async function restoreSshd(ref: ProvisionRef): Promise<StepOutcome> {
  const file = await restoreFile(ref, SSHD_HARDENING);
  if (file.changed) {
    await onHost(ref, ['sshd', '-t']);
    await onHost(ref, ['service', 'ssh', 'reload']);
  }
  return file;
}
