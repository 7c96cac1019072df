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

# As root, PostgreSQL runs as the postgres user, who must reach its data directory: a cache under
# a private directory (root's ~/.cache is 0700, CI's `mktemp -d` one too) does not let it through.
# Then its data and socket live in a root-owned directory of their own, named after the state
# directory, rather than the user's private directories being opened to it.
pg_home_dir() {
  local dir=$state_dir
  while [[ ! -e "$dir" ]]; do dir=$(dirname "$dir"); done
  if [[ $EUID -eq 0 ]] && ! runuser -u postgres -- test -x "$dir" 2>/dev/null; then
    echo "/var/lib/runbook-cluster/$(printf '%s' "$state_dir" | sha256sum | cut -c1-16)"
  else
    echo "$state_dir"
  fi
}
pg_home=$(pg_home_dir)
pg_data="$pg_home/postgresql"
pg_socket="$pg_home/postgresql-socket"
db_password_file="$state_dir/db-password"

# PostgreSQL refuses to run as root: as root it runs as the postgres user, from / (a checkout
# in a 0700 directory, as CI's is, made every call complain it could not enter it).
as_pg_owner() {
  if [[ $EUID -eq 0 ]]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# pg_ctl for our data directory, or for another's (PG_DATA=...), without the run directory's lock (fd 8).
pg_ctl_() { as_pg_owner "$(pg_bin)/pg_ctl" -D "${PG_DATA:-$pg_data}" "$@" 8>&-; }

pg_running() { [[ -f "$pg_data/postmaster.pid" ]] && pg_ctl_ status >/dev/null 2>&1; }

pg_init() {
  [[ -f "$pg_data/PG_VERSION" ]] && return 0
  phase "creating the PostgreSQL cluster in $pg_data"
  mkdir -p "$state_dir" "$pg_home"
  # The data's parents must let the postgres user through; the secrets in them stay owner-only.
  chmod 755 "$state_dir" "$pg_home"
  [[ "$pg_home" == "$state_dir" ]] || chmod 755 "$(dirname "$pg_home")"
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
  # The machine-wide record: which postmaster, of which data directory (see pg_stop).
  head -n 1 "$pg_data/postmaster.pid" >"$run_dir/postgresql.pid"
  echo "$pg_data" >"$run_dir/postgresql.data"
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

# The PostgreSQL the run directory records, whichever cache's: by pg_ctl while its data
# directory is there; by its pid once that directory was deleted under it, checked to be the
# postmaster of that directory (a reused pid is left alone). Fast shutdown, then immediate.
pg_stop() {
  local pid data
  pid=$(cat "$run_dir/postgresql.pid" 2>/dev/null || true)
  data=$(cat "$run_dir/postgresql.data" 2>/dev/null || echo "$pg_data")
  if [[ -f "$data/postmaster.pid" ]] && PG_DATA=$data pg_ctl_ status >/dev/null 2>&1; then
    phase "stopping PostgreSQL ($data)"
    PG_DATA=$data pg_ctl_ -w -t 60 -m fast stop >/dev/null
  elif [[ -n "$pid" ]] && postmaster_of "$pid" "$data"; then
    phase "stopping PostgreSQL (pid $pid; its data directory $data is gone)"
    signal_then "$pid" INT 60 QUIT
  fi
  rm -f "$run_dir/postgresql.pid" "$run_dir/postgresql.data"
}

# pid is a postgres process started with -D data (pg_ctl starts the postmaster so).
postmaster_of() {
  local pid=$1 data=$2 exe
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  [[ "$(basename "${exe% (deleted)}")" == postgres ]] || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" | grep -A1 -x -- -D | tail -n 1 | grep -qxF -- "$data"
}
