# The cluster's own PostgreSQL (Debian's binaries): a data directory under the cluster's state
# directory, on 127.0.0.1 at its own port, its socket in a directory only its owner reaches.
# Never the system's default cluster. Sourced by cluster.sh, not run.

pg_bin() {
  local dir
  for dir in "${RUNBOOK_PG_BIN:-}" /usr/lib/postgresql/{17,16,15,14}/bin; do
    [[ -n "$dir" && -x "$dir/pg_ctl" ]] && { echo "$dir"; return; }
  done
  echo "no PostgreSQL server binaries (apt-get install postgresql, or set RUNBOOK_PG_BIN)" >&2
  return 1
}

pg_data="$state_dir/postgresql"
pg_socket="$state_dir/postgresql-socket"
db_password_file="$state_dir/db-password"

# PostgreSQL refuses to run as root: as root it runs as the postgres user.
as_pg_owner() {
  if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_ctl_() { as_pg_owner "$(pg_bin)/pg_ctl" -D "$pg_data" "$@"; }

pg_running() { [[ -f "$pg_data/postmaster.pid" ]] && pg_ctl_ status >/dev/null 2>&1; }

pg_init() {
  [[ -f "$pg_data/PG_VERSION" ]] && return 0
  phase "creating the PostgreSQL cluster in $pg_data"
  mkdir -p "$state_dir"
  # The state directory's parents must let the postgres user through; its secrets stay owner-only.
  chmod 755 "$state_dir"
  if [[ ! -s "$db_password_file" ]]; then
    (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$db_password_file")
  fi
  mkdir -p "$pg_data" "$pg_socket"
  chmod 700 "$pg_data" "$pg_socket"
  [[ $EUID -eq 0 ]] && chown postgres:postgres "$pg_data" "$pg_socket"
  # Local socket: trusted, as only the owner reaches its directory. TCP: password (SCRAM).
  as_pg_owner "$(pg_bin)/initdb" -D "$pg_data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >>"$log_dir/postgresql-init.log" 2>&1
}

pg_start() {
  pg_init
  if ! pg_running; then
    phase "starting PostgreSQL on 127.0.0.1:$CLUSTER_PG_PORT"
    pg_ctl_ -w -t 60 -l "$pg_data/server.log" \
      -o "-p $CLUSTER_PG_PORT -k $pg_socket -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
  fi
  # The temporal role, with the password the server and the SQL tool use (set again each time,
  # so a lost role or a new password file is put right).
  local password
  password=$(<"$db_password_file")
  # It goes into SQL text on stdin (not argv, which others can read): only a plain one will do.
  [[ $password =~ ^[A-Za-z0-9._-]{16,}$ ]] || { echo "$db_password_file: want 16 or more of A-Z a-z 0-9 . _ -" >&2; return 1; }
  as_pg_owner "$(pg_bin)/psql" -h "$pg_socket" -p "$CLUSTER_PG_PORT" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
    >/dev/null <<SQL
SELECT 'CREATE ROLE temporal LOGIN CREATEDB' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'temporal')
\\gexec
ALTER ROLE temporal WITH LOGIN CREATEDB PASSWORD '$password';
SQL
}

pg_stop() {
  if pg_running; then
    phase "stopping PostgreSQL"
    pg_ctl_ -w -t 60 -m fast stop >/dev/null
  fi
}
