// What the application needs on the host: its database and role, its user and directory, its
// .env (secrets resolved here, on the worker), its process-manager entry and its nginx site.
import { resolveSecret } from '../secrets';
import { environment } from '../env-vars';
import { provisionConfig } from './config';
import { ensureFile, forgetPreviousFile, restoreFile, SAFE_PATHS } from './files';
import { merge, outcome, recordDir, script, type ProvisionRef, type StepOutcome } from './remote';
import { ensureRunning, putServiceBack } from './services';

function secret(env: string, name: string): Promise<string> {
  return resolveSecret(environment(env), name);
}

// psql as the superuser; names and the password reach SQL as psql variables, never as text.
const PSQL = `sql() {
  (cd / && runuser -u postgres -- psql -X -q -tA -v ON_ERROR_STOP=1 -v u="$user" -v d="$db" "$@")
}`;

// $1 database, $2 role, $3 record dir; the password on stdin.
const ENSURE_DATABASE = `
db=$1 user=$2 record=$3
IFS= read -r pw || [ -n "$pw" ]
export RUNBOOK_PW="$pw"
${PSQL}
mkdir -p -m 0700 -- "$record"
state=unchanged
if [ -z "$(echo "select 1 from pg_roles where rolname = :'u';" | sql)" ]; then
  : > "$record/created-role"
  printf '%s\\n' '\\getenv pw RUNBOOK_PW' "create role :\\"u\\" login password :'pw';" | sql
  state=changed
elif ! PGPASSWORD="$pw" psql -X -h 127.0.0.1 -U "$user" -d postgres -tAc 'select 1' >/dev/null 2>&1; then
  printf '%s\\n' '\\getenv pw RUNBOOK_PW' "alter role :\\"u\\" login password :'pw';" | sql
  state=changed
fi
if [ -z "$(echo "select 1 from pg_database where datname = :'d';" | sql)" ]; then
  : > "$record/created-database"
  echo "create database :\\"d\\" owner :\\"u\\";" | sql
  echo "revoke all on database :\\"d\\" from public;" | sql
  state=changed
fi
echo $state`;

const DROP_DATABASE = `
db=$1 user=$2 record=$3
${PSQL}
state=unchanged
# What this run created is dropped even if the server stopped since (the undo then stops it again).
if { [ -e "$record/created-database" ] || [ -e "$record/created-role" ]; } && ! pg_isready -q; then
  service postgresql start >&2
fi
if [ -e "$record/created-database" ]; then
  echo "drop database if exists :\\"d\\" with (force);" | sql
  rm -f -- "$record/created-database"; state=changed
fi
if [ -e "$record/created-role" ]; then
  echo "drop role if exists :\\"u\\";" | sql
  rm -f -- "$record/created-role"; state=changed
fi
echo $state`;

// $1 record dir. A host whose packages made no cluster (or whose cluster was dropped) gets one.
const ENSURE_CLUSTER = `
record=$1
if [ -n "$(pg_lsclusters -h 2>/dev/null)" ]; then echo unchanged; exit 0; fi
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
mkdir -p -m 0700 -- "$record"
echo "$version" > "$record/created-cluster"
pg_createcluster "$version" main >&2
echo changed`;

const DROP_CLUSTER = `
record=$1
if [ ! -e "$record/created-cluster" ]; then echo unchanged; exit 0; fi
version=$(cat "$record/created-cluster")
if pg_lsclusters -h | grep -q "^$version main "; then pg_dropcluster --stop "$version" main >&2; fi
rm -f -- "$record/created-cluster"
echo changed`;

export async function ensureAppDatabase(ref: ProvisionRef): Promise<StepOutcome> {
  const c = provisionConfig(ref.env);
  const cluster = outcome(
    await script(ref, ENSURE_CLUSTER, [recordDir(ref.runId)], { retryable: false, timeoutMs: 120_000 }),
  );
  const running = await ensureRunning(ref, 'postgresql', false);
  const password = await secret(ref.env, c.databasePasswordSecret);
  const done = outcome(
    await script(ref, ENSURE_DATABASE, [c.databaseName, c.databaseUser, recordDir(ref.runId)], {
      stdin: `${password}\n`,
      secrets: [password],
      retryable: false,
    }),
  );
  return merge(
    cluster,
    running,
    done.changed ? { changed: true, detail: `database ${c.databaseName} owned by ${c.databaseUser}` } : done,
  );
}

export async function dropAppDatabase(ref: ProvisionRef): Promise<StepOutcome> {
  const c = provisionConfig(ref.env);
  const dropped = outcome(await script(ref, DROP_DATABASE, [c.databaseName, c.databaseUser, recordDir(ref.runId)]));
  const stopped = await putServiceBack(ref, 'postgresql', false);
  return merge(
    dropped,
    stopped,
    outcome(await script(ref, DROP_CLUSTER, [recordDir(ref.runId)], { timeoutMs: 120_000 })),
  );
}

// The app's directory belongs to the app user, but its name is root's: every directory above
// it must be root's alone, and it must not be a symlink, or the app user could point root's
// chown elsewhere.
const APP_DIR_NAME = `
${SAFE_PATHS}
path=$dir
root_only_above "$dir"
if [ -L "$dir" ]; then
  refuse "$dir is a symbolic link (to $(readlink -- "$dir")); refusing to use it as the app directory"
fi`;

// $1 user, $2 directory, $3 record dir.
const ENSURE_APP_DIR = `
user=$1 dir=$2 record=$3
${APP_DIR_NAME}
mkdir -p -m 0700 -- "$record"
state=unchanged
if ! id -u "$user" >/dev/null 2>&1; then
  : > "$record/created-app-user"
  useradd --system --user-group --home-dir "$dir" --no-create-home --shell /usr/sbin/nologin "$user"
  state=changed
fi
if [ ! -e "$dir" ]; then
  : > "$record/created-app-dir"
elif [ ! -e "$record/app-dir.was" ]; then
  stat -c '%a %U %G' -- "$dir" > "$record/app-dir.was"
fi
if [ "$(stat -c %a:%U:%G -- "$dir" 2>/dev/null)" != "750:$user:$user" ]; then
  install -d -m 0750 -o "$user" -g "$user" -- "$dir"
  state=changed
fi
echo $state`;

const REMOVE_APP_DIR = `
user=$1 dir=$2 record=$3
${APP_DIR_NAME}
state=unchanged
if [ -e "$record/created-app-dir" ]; then
  rm -rf --one-file-system -- "$dir"
  rm -f -- "$record/created-app-dir"; state=changed
fi
if [ -e "$record/app-dir.was" ]; then
  read -r mode owner group < "$record/app-dir.was"
  chown --no-dereference "$owner:$group" -- "$dir"; chmod "$mode" -- "$dir"
  rm -f -- "$record/app-dir.was"; state=changed
fi
if [ -e "$record/created-app-user" ]; then
  if id -u "$user" >/dev/null 2>&1; then userdel "$user"; fi
  rm -f -- "$record/created-app-user"; state=changed
fi
echo $state`;

export async function ensureAppDir(ref: ProvisionRef): Promise<StepOutcome> {
  const c = provisionConfig(ref.env);
  const done = outcome(
    await script(ref, ENSURE_APP_DIR, [c.appUser, c.appDir, recordDir(ref.runId)], { retryable: false }),
  );
  return done.changed ? { changed: true, detail: `${c.appDir} owned by ${c.appUser}` } : done;
}

export async function removeAppDir(ref: ProvisionRef): Promise<StepOutcome> {
  const c = provisionConfig(ref.env);
  return outcome(await script(ref, REMOVE_APP_DIR, [c.appUser, c.appDir, recordDir(ref.runId)]));
}

export async function ensureAppEnv(ref: ProvisionRef): Promise<StepOutcome> {
  const c = provisionConfig(ref.env);
  const password = await secret(ref.env, c.databasePasswordSecret);
  const url = `postgresql://${c.databaseUser}:${encodeURIComponent(password)}@${c.databaseHost}:5432/${c.databaseName}`;
  return ensureFile(
    ref,
    {
      path: `${c.appDir}/.env`,
      content: `DATABASE_URL=${url}\nAPP_PORT=${c.appPort}\n`,
      mode: '600',
      owner: c.appUser,
      group: c.appUser,
    },
    { secrets: [password, encodeURIComponent(password)] },
  );
}

export async function restoreAppEnv(ref: ProvisionRef): Promise<StepOutcome> {
  return restoreFile(ref, `${provisionConfig(ref.env).appDir}/.env`);
}

/** Once the run is kept: the copy of the previous .env (and its database password) is removed. */
export async function forgetPreviousAppEnv(ref: ProvisionRef): Promise<StepOutcome> {
  return forgetPreviousFile(ref, `${provisionConfig(ref.env).appDir}/.env`);
}

const SUPERVISOR_ENTRY = '/etc/supervisor/conf.d/app.conf';

export async function ensureProcessEntry(ref: ProvisionRef): Promise<StepOutcome> {
  const c = provisionConfig(ref.env);
  const entry = await ensureFile(ref, {
    path: SUPERVISOR_ENTRY,
    content: [
      '; Managed by runbook provision: the application, started once a release is deployed here.',
      '[program:app]',
      `command=/usr/bin/python3 ${c.appDir}/app.py`,
      `directory=${c.appDir}`,
      `user=${c.appUser}`,
      'autostart=true',
      'autorestart=true',
      'stopasgroup=true',
      'killasgroup=true',
      'redirect_stderr=true',
      'stdout_logfile=/var/log/supervisor/app.log',
      '',
    ].join('\n'),
    mode: '644',
    owner: 'root',
    group: 'root',
  });
  const running = await ensureRunning(ref, 'supervisor', false);
  if (entry.changed)
    await script(ref, 'supervisorctl reread >&2 && supervisorctl update >&2; echo changed', [], { retryable: false });
  return merge(entry, running);
}

export async function restoreProcessEntry(ref: ProvisionRef): Promise<StepOutcome> {
  const entry = await restoreFile(ref, SUPERVISOR_ENTRY);
  if (entry.changed)
    await script(
      ref,
      [
        'if service supervisor status >/dev/null 2>&1; then',
        '  supervisorctl reread >&2 && supervisorctl update >&2',
        'fi',
        'echo changed',
      ].join('\n'),
      [],
    );
  return merge(entry, await putServiceBack(ref, 'supervisor', false));
}

const NGINX_SITE = '/etc/nginx/conf.d/app.conf';

export async function ensureNginxSite(ref: ProvisionRef): Promise<StepOutcome> {
  const c = provisionConfig(ref.env);
  const site = await ensureFile(ref, {
    path: NGINX_SITE,
    content: [
      '# Managed by runbook provision: the application behind nginx, and the ACME webroot for certbot.',
      'server {',
      '    listen 80;',
      `    server_name ${c.domains.length ? c.domains.join(' ') : '_'};`,
      `    location /.well-known/acme-challenge/ { root ${c.acmeWebroot}; }`,
      '    location / {',
      `        proxy_pass http://127.0.0.1:${c.appPort};`,
      '        proxy_set_header Host $host;',
      '        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
      '        proxy_set_header X-Forwarded-Proto $scheme;',
      '    }',
      '}',
      '',
    ].join('\n'),
    mode: '644',
    owner: 'root',
    group: 'root',
    check: ['nginx', '-t', '-q'],
  });
  return merge(site, await ensureRunning(ref, 'nginx', site.changed, 'reload'));
}

export async function restoreNginxSite(ref: ProvisionRef): Promise<StepOutcome> {
  const site = await restoreFile(ref, NGINX_SITE);
  return merge(site, await putServiceBack(ref, 'nginx', site.changed, 'reload'));
}
