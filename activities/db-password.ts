// rotate-db-password's activities: the new password, resolved here on the worker from the secret
// the run names, goes to each web host's .env (on stdin, URL-encoded) and to PostgreSQL as a
// SCRAM verifier (on stdin); neither is ever in argv, a result, a heartbeat or an error. Each
// host keeps, under this run's record directory (root's, 0700), what the undo puts back: the
// previous .env and its owner and mode, the role's previous verifier, and whether the app was
// restarted. Each step's command acts once per run on its host (a marker, ssh/once.ts).
import { ApplicationFailure } from '@temporalio/common';
import { secretsFor, type Environment } from '../src/inventory';
import { environment, hostsWithRole, serviceCommand } from './env-vars';
import { requiredVar } from '../src/vars';
import { appHealthUrl, databaseOk, probeHealth } from './health-probe';
import { resolveSecret } from './secrets';
import { DATABASE_PASSWORD, scramVerifier } from './scram';
import { SAFE_PATHS } from './provision/files';
import { markerPath, runOnce } from './ssh/once';
import { runOn, type CommandResult } from './ssh/run';
import { resolveTarget, type SshTarget } from './ssh/target';
import { FailureType } from '../common/failure-types';

const RECORDS = '/var/lib/runbook/rotate-db-password';
/** How long an undo waits for an app it restarted to answer healthy. */
const HEALTHY_WITHIN_MS = 30_000;

export interface Outcome {
  changed: boolean;
  detail?: string;
}

/** Where this run keeps, on a host, what its undo puts back. */
export function recordDir(runId: string): string {
  markerPath(runId, 'rotate-db-password'); // validates the run id for use in a path
  return `${RECORDS}/${runId}`;
}

function bad(e: Environment, what: string): never {
  throw ApplicationFailure.nonRetryable(`${e.environment}: ${what}`, FailureType.BadInventory);
}

/**
 * What the steps read from the inventory. Names reach scripts as data, and are plain: the
 * schema (src/vars.ts) refused any other path or name when the inventory was read.
 */
function context(env: string) {
  const e = environment(env);
  const appDir = requiredVar(e, 'appDir');
  const appUser = requiredVar(e, 'appUser');
  const databaseUser = requiredVar(e, 'databaseUser');
  return { e, envFile: `${appDir}/.env`, appUser, databaseUser };
}

function dbTarget(e: Environment): SshTarget {
  const [db] = hostsWithRole(e, 'db');
  if (!db) bad(e, 'no host has the db role');
  return resolveTarget({ env: e.environment, host: db });
}

/**
 * The new password: resolved on the worker, refused (never shown) when unusable. Only a secret
 * the inventory marks as a database password is read at all, whatever the run's parameters
 * said: checked here again because this is what writes it to every web host and PostgreSQL.
 */
async function newPassword(e: Environment, secret: string): Promise<string> {
  if (e.secrets[secret]?.use !== 'database-password')
    throw ApplicationFailure.nonRetryable(
      `${e.environment}: secret ${secret} is not marked as a database password ` +
        `(use: database-password in the inventory; marked: ${secretsFor(e, 'database-password').join(', ') || 'none'})`,
      FailureType.BadInput,
    );
  const value = await resolveSecret(e, secret);
  if (!DATABASE_PASSWORD.test(value))
    throw ApplicationFailure.nonRetryable(
      `${e.environment}: secret ${secret} is not a usable database password: ` +
        'it must be 16 to 200 printable ASCII characters, without spaces',
      FailureType.BadSecret,
    );
  return value;
}

/** A fixed script of ours, its data as $1, $2...: nothing in the data is read by the shell. */
function script(body: string, args: readonly string[]): string[] {
  return ['sh', '-c', `set -eu\numask 077\nrefuse() { echo "$*" >&2; exit 3; }\n${body}`, 'rotate', ...args];
}

function lastLine(result: CommandResult): string {
  return result.stdout.trim().split('\n').pop() ?? '';
}

// The user a DATABASE_URL line names, in sh: the URL's userinfo up to its first '@' (a
// password in a URL has its '@' encoded), the user up to its first ':'.
const URL_PARTS = `
url=\${line#DATABASE_URL=}
scheme=\${url%%://*} rest=\${url#*://}
userinfo=\${rest%%@*} hostpart=\${rest#*@}
urluser=\${userinfo%%:*}`;

// $1 .env, $2 app user, $3 role. The file is read as the app user (root never reads through a
// name the app user controls); only the users its DATABASE_URL lines name are printed.
const CHECK_ENV = `
file=$1 appuser=$2 dbuser=$3
if [ -L "$file" ] || [ ! -f "$file" ]; then refuse "$file is not a regular file"; fi
runuser -u "$appuser" -- test -r "$file" || refuse "$appuser cannot read $file"
users() {
  runuser -u "$appuser" -- cat -- "$file" | while IFS= read -r line || [ -n "$line" ]; do
    case $line in DATABASE_URL=*://*@*) ${URL_PARTS}
      printf '%s\\n' "$urluser" ;; esac
  done
}
found=no
for urluser in $(users); do
  [ "$urluser" = "$dbuser" ] || refuse "$file: DATABASE_URL logs in as $urluser, not as role $dbuser"
  found=yes
done
[ $found = yes ] || refuse "$file has no DATABASE_URL line with a user (<scheme>://$dbuser:<password>@<host>/...)"
echo ok`;

/**
 * The new password is usable and every web host's .env names the role it is for. Changes nothing;
 * says nothing of the password.
 */
export async function checkNewPassword(input: { env: string; secret: string; hosts: string[] }): Promise<Outcome> {
  const c = context(input.env);
  await newPassword(c.e, input.secret);
  // A web host in neither colour (drained, or without one) would keep the old password, and
  // fail when next started.
  const left = hostsWithRole(c.e, 'web').filter((h) => !input.hosts.includes(h));
  if (left.length)
    throw ApplicationFailure.nonRetryable(
      `${input.env}: ${left.join(', ')} ${left.length > 1 ? 'are' : 'is'} a web host in neither colour the load ` +
        'balancer knows: its .env would keep the old password',
      FailureType.BadInventory,
    );
  for (const host of input.hosts) {
    const target = resolveTarget({ env: input.env, host });
    await runOn(target, script(CHECK_ENV, [c.envFile, c.appUser, c.databaseUser]), { retryable: false });
  }
  return {
    changed: false,
    detail: `secret ${input.secret} is usable; the .env of ${input.hosts.join(', ')} logs in as ${c.databaseUser}`,
  };
}

// $1 .env, $2 record dir, $3 app user, $4 role; the new password, URL-encoded, on stdin. The
// previous file is kept once (a retry rewrites from it, never from its own output), then the
// new one is made in the record directory, given the previous owner and mode, and renamed
// over the .env: a rename replaces the name, never writes through it. As provision's files
// (SAFE_PATHS): no directory above the app's may be changed by anyone but root.
const WRITE_ENV = `
file=$1 record=$2 appuser=$3 dbuser=$4
${SAFE_PATHS}
path=$file
safe_dirs "$file"
IFS= read -r pw || [ -n "$pw" ]
[ -n "$pw" ] || refuse "no password on stdin"
mkdir -p -m 0700 -- "$record"
if [ ! -e "$record/env.was" ]; then
  if [ -L "$file" ] || [ ! -f "$file" ]; then refuse "$file is not a regular file"; fi
  stat -c '%u:%g %a' -- "$file" > "$record/env.meta"
  runuser -u "$appuser" -- cat -- "$file" > "$record/env.reading"
  mv -f -- "$record/env.reading" "$record/env.was"
fi
read -r owner mode < "$record/env.meta"
found=no
while IFS= read -r line || [ -n "$line" ]; do
  case $line in
    DATABASE_URL=*://*@*) ${URL_PARTS}
      [ "$urluser" = "$dbuser" ] || refuse "$file: DATABASE_URL logs in as $urluser, not as role $dbuser"
      printf '%s\\n' "DATABASE_URL=$scheme://$dbuser:$pw@$hostpart"
      found=yes ;;
    *) printf '%s\\n' "$line" ;;
  esac
done < "$record/env.was" > "$record/env.next"
[ $found = yes ] || refuse "$file has no DATABASE_URL line with a user"
chown -- "$owner" "$record/env.next"
chmod -- "$mode" "$record/env.next"
mv -fT -- "$record/env.next" "$file"
echo changed`;

/** DATABASE_URL in the host's .env gets the new password; the previous file is kept for the undo. */
export async function writeEnvPassword(input: {
  env: string;
  runId: string;
  secret: string;
  host: string;
}): Promise<Outcome> {
  const c = context(input.env);
  const password = await newPassword(c.e, input.secret);
  const encoded = encodeURIComponent(password);
  const r = await runOnce(
    resolveTarget(input),
    input.runId,
    'rotate-db-password-env',
    script(WRITE_ENV, [c.envFile, recordDir(input.runId), c.appUser, c.databaseUser]),
    { stdin: `${encoded}\n`, secrets: [password, encoded], retryable: false },
  );
  return { changed: true, detail: r.ran ? input.host : `${input.host} (already done by this run)` };
}

// $1 .env, $2 record dir, then the app's restart command. The previous .env back (same owner
// and mode, renamed into place), then the app restarted if this run restarted it: it must read
// the old password again. `check` tells the activity to wait for the app to answer healthy.
const RESTORE_ENV = `
file=$1 record=$2; shift 2
${SAFE_PATHS}
path=$file
safe_dirs "$file"
state=unchanged
if [ -e "$record/env.was" ]; then
  read -r owner mode < "$record/env.meta"
  cp -- "$record/env.was" "$record/env.back"
  chown -- "$owner" "$record/env.back"
  chmod -- "$mode" "$record/env.back"
  mv -fT -- "$record/env.back" "$file"
  rm -f -- "$record/env.was" "$record/env.meta" "$record/env.next"
  state=changed
fi
if [ -e "$record/restarted" ]; then
  "$@" >&2
  mv -f -- "$record/restarted" "$record/restarted-back"
fi
if [ -e "$record/restarted-back" ]; then echo check; else echo $state; fi`;

/**
 * The undo of writeEnvPassword (and of the restarts, which must follow it): the previous .env
 * back, and the app restarted on it and checked healthy where this run restarted it. Nothing
 * when the step did nothing on this host.
 */
export async function restoreEnvPassword(input: { env: string; runId: string; host: string }): Promise<Outcome> {
  const c = context(input.env);
  const target = resolveTarget(input);
  const record = recordDir(input.runId);
  const restart = serviceCommand(c.e, 'app', 'reload');
  const state = lastLine(await runOn(target, script(RESTORE_ENV, [c.envFile, record, ...restart])));
  if (state !== 'check') return { changed: state === 'changed' };
  await healthyWithin(c.e, target, input.host, HEALTHY_WITHIN_MS);
  await runOn(target, ['rm', '-f', '--', `${record}/restarted-back`]);
  return { changed: true, detail: `${input.host}: previous .env back, app restarted and healthy` };
}

// $1 role, $2 record dir, then the inventory's dbAdmin prefix; the verifier on stdin. The role's
// previous verifier is kept once; psql reads the new one from its own input (\\set), never argv.
const SET_ROLE_PASSWORD = `
user=$1 record=$2; shift 2
set -- "$@" psql -X -q -tA -v ON_ERROR_STOP=1 -v "u=$user" -d postgres
IFS= read -r verifier || [ -n "$verifier" ]
case $verifier in SCRAM-SHA-256\\$*) ;; *) refuse "not a SCRAM-SHA-256 verifier" ;; esac
case $verifier in *[!-A-Za-z0-9+/=:$]*) refuse "not a SCRAM-SHA-256 verifier" ;; esac
mkdir -p -m 0700 -- "$record"
if [ ! -e "$record/role.was" ]; then
  was=$(echo "select 'role:' || coalesce(rolpassword, '') from pg_authid where rolname = :'u';" | (cd / && "$@"))
  case $was in role:*) ;; *) refuse "PostgreSQL has no role $user" ;; esac
  printf '%s\\n' "\${was#role:}" > "$record/role.reading"
  mv -f -- "$record/role.reading" "$record/role.was"
fi
kept=$(printf '%s\\n' "\\\\set v '$verifier'" "alter role :\\"u\\" password :'v';" \\
  "select rolpassword = :'v' from pg_authid where rolname = :'u';" | (cd / && "$@"))
[ "$kept" = t ] || refuse "PostgreSQL did not keep the new verifier of role $user"
echo changed`;

/** The app's role gets the new password (as a SCRAM verifier); its previous one is kept for the undo. */
export async function setDatabasePassword(input: { env: string; runId: string; secret: string }): Promise<Outcome> {
  const c = context(input.env);
  const password = await newPassword(c.e, input.secret);
  const verifier = scramVerifier(password);
  const r = await runOnce(
    dbTarget(c.e),
    input.runId,
    'rotate-db-password-role',
    script(SET_ROLE_PASSWORD, [c.databaseUser, recordDir(input.runId), ...requiredVar(c.e, 'dbAdmin')]),
    { stdin: `${verifier}\n`, secrets: [password, verifier], retryable: false },
  );
  return { changed: true, detail: `role ${c.databaseUser}${r.ran ? '' : ' (already done by this run)'}` };
}

// $1 role, $2 record dir, then the dbAdmin prefix. The kept verifier back (none: no password).
const RESTORE_ROLE_PASSWORD = `
user=$1 record=$2; shift 2
set -- "$@" psql -X -q -tA -v ON_ERROR_STOP=1 -v "u=$user" -d postgres
if [ ! -e "$record/role.was" ]; then echo unchanged; exit 0; fi
IFS= read -r was < "$record/role.was" || was=
case $was in *[!-A-Za-z0-9+/=:$]*) refuse "$record/role.was is not a password verifier" ;; esac
if [ -z "$was" ]; then
  echo "alter role :\\"u\\" password null;" | (cd / && "$@")
else
  printf '%s\\n' "\\\\set v '$was'" "alter role :\\"u\\" password :'v';" | (cd / && "$@")
fi
rm -f -- "$record/role.was"
echo changed`;

/** The undo of setDatabasePassword: the role's previous verifier back; nothing when it was never changed. */
export async function restoreDatabasePassword(input: { env: string; runId: string }): Promise<Outcome> {
  const c = context(input.env);
  const argv = script(RESTORE_ROLE_PASSWORD, [c.databaseUser, recordDir(input.runId), ...requiredVar(c.e, 'dbAdmin')]);
  return { changed: lastLine(await runOn(dbTarget(c.e), argv)) === 'changed' };
}

// $1 record dir, then the app's status command. Once this run decided to restart the app (it
// was running), a retry restarts it whatever its state: an attempt may have died mid-restart.
const DECIDE_RESTART = `
record=$1; shift
if [ ! -e "$record/restarted" ]; then
  if ! "$@" >/dev/null 2>&1; then echo stopped; exit 0; fi
  mkdir -p -m 0700 -- "$record"
  : > "$record/restarted"
fi
echo restart`;

/**
 * Restarts the app on the host, where it runs, so it reads the new .env; a stopped app (an idle
 * colour) is left stopped: it reads the new .env when it starts. Recorded for the undo.
 */
export async function restartAppForPassword(input: {
  env: string;
  runId: string;
  host: string;
}): Promise<{ restarted: boolean }> {
  const { e } = context(input.env);
  const target = resolveTarget(input);
  const decided = await runOn(
    target,
    script(DECIDE_RESTART, [recordDir(input.runId), ...serviceCommand(e, 'app', 'status')]),
  );
  if (lastLine(decided) !== 'restart') return { restarted: false };
  await runOnce(target, input.runId, 'rotate-db-password-restart', serviceCommand(e, 'app', 'reload'), {
    retryable: false,
  });
  return { restarted: true };
}

async function healthy(e: Environment, target: SshTarget, host: string): Promise<void> {
  const where = `${e.environment}/${host}`;
  const answer = await probeHealth(target, appHealthUrl(e, host));
  if (answer.status === 200 && databaseOk(answer)) return;
  const database = databaseOk(answer) ? 'ok' : 'not ok';
  throw ApplicationFailure.retryable(
    `${where}: ${answer.url} answered ${answer.status || 'nothing'} (database: ${database})`,
    FailureType.Unhealthy,
  );
}

async function healthyWithin(e: Environment, target: SshTarget, host: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await healthy(e, target, host);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** The app on the host answers 200 and reaches its database; fails (retryably) until it does. */
export async function checkAppHealthy(input: { env: string; host: string }): Promise<void> {
  await healthy(environment(input.env), resolveTarget(input), input.host);
}

/** Once the run is kept: the copies of the previous password (.env, verifier) are deleted everywhere. */
export async function forgetPreviousPassword(input: { env: string; runId: string; hosts: string[] }): Promise<Outcome> {
  const { e } = context(input.env);
  const record = recordDir(input.runId);
  const [db] = hostsWithRole(e, 'db');
  if (!db) bad(e, 'no host has the db role');
  const removed: string[] = [];
  for (const host of [...new Set([db, ...input.hosts])]) {
    const argv = script('if [ -e "$1" ]; then rm -rf -- "$1"; echo changed; else echo unchanged; fi', [record]);
    if (lastLine(await runOn(resolveTarget({ env: input.env, host }), argv)) === 'changed') removed.push(host);
  }
  return { changed: removed.length > 0, detail: removed.length ? `removed on ${removed.join(', ')}` : undefined };
}
