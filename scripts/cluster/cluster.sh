#!/usr/bin/env bash
# A production-style Temporal on this machine, without Docker: the real server (built from the
# Go module proxy at the version the pinned CLI embeds, with our authorizer: cluster/server) on
# PostgreSQL persistence and visibility, with the Web UI, all on 127.0.0.1 at ports of its own.
# Clients connect with mTLS; their certificate's role decides what they may call (workers poll,
# operators start and decide runs, admins terminate and administer). As root, the server and
# the UI run as the unprivileged user runbook-temporal.
#   npm run cluster -- up        build once, start PostgreSQL, migrate, start server and UI
#   npm run cluster -- down      stop them (the data stays; `down --purge` deletes it)
#   npm run cluster -- status    what runs where
#   npm run cluster -- env [--as worker|operator|admin]
#                                the variables that point a worker (the default), the runbook
#                                CLI or the Temporal CLI at it, with that identity's certificate
#   npm run cluster -- restart-server   stop and start the server process only (tests use it)
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
source "$here/common.sh"
source "$here/postgres.sh"
source "$here/processes.sh"
source "$here/tls.sh"

address="127.0.0.1:$CLUSTER_FRONTEND_PORT"
ui_url="http://127.0.0.1:$CLUSTER_UI_PORT"

temporal_cli() { bash "$repo_root/scripts/temporal-cli.sh" "$@"; }
# The Temporal CLI with a role's certificate: `as_role admin operator namespace create ...`.
as_role() {
  local role=$1
  shift
  # shellcheck disable=SC2046 # the flags are words without spaces
  temporal_cli "$@" --address "$address" $(tls_flags "$role")
}

# As root, the server and the UI run as this user, from a directory of their own (below) that
# root owns: they read their binaries, config and keys there and can change none of it.
server_user=runbook-temporal
# Beside PostgreSQL's data: a directory that other users can reach (common.sh, postgres.sh).
server_home="$pg_home/temporal"

ensure_server_user() {
  [[ $EUID -eq 0 ]] || return 0
  id -u "$server_user" >/dev/null 2>&1 && return 0
  phase "creating the system user $server_user for the server and the UI"
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$server_user"
}

# The server's and the UI's binaries, configs and certificates, copied where their user reads them.
install_server_files() {
  mkdir -p "$server_home"/{bin,config,tls}
  chmod 755 "$server_home" "$server_home"/{bin,config}
  chmod 750 "$server_home/tls"
  local copy f
  copy() { cmp -s "$1" "$2" 2>/dev/null || install -m "$3" "$1" "$2"; }
  copy "$bin_dir/$(server_binary_name)" "$server_home/bin/runbook-temporal-server" 0755
  copy "$bin_dir/temporal-ui-server" "$server_home/bin/temporal-ui-server" 0755
  copy "$repo_root/cluster/temporal.yaml" "$server_home/config/temporal.yaml" 0644
  copy "$repo_root/cluster/ui.yaml" "$server_home/config/ui.yaml" 0644
  copy "$repo_root/temporal-dynamic-config.yaml" "$server_home/config/dynamic-config.yaml" 0644
  for f in ca.pem internode-ca.pem frontend.pem internode.pem system.pem web-ui.pem; do
    copy "$tls_dir/$f" "$server_home/tls/$f" 0644
  done
  for f in frontend.key internode.key system.key web-ui.key; do
    copy "$tls_dir/$f" "$server_home/tls/$f" 0600
  done
  if [[ $EUID -eq 0 ]]; then
    chown "root:$server_user" "$server_home/tls"
    chown "$server_user:$server_user" "$server_home"/tls/*.key
  fi
}

run_as() { [[ $EUID -eq 0 ]] && echo "$server_user" || true; }

# What the server's config template (cluster/temporal.yaml) and the SQL tool read.
server_env() {
  export TEMPORAL_PORT=$CLUSTER_FRONTEND_PORT TEMPORAL_METRICS_PORT=$CLUSTER_METRICS_PORT TEMPORAL_BIND_IP=127.0.0.1
  export TEMPORAL_DB_HOST=127.0.0.1 TEMPORAL_DB_PORT=$CLUSTER_PG_PORT TEMPORAL_DB_USER=temporal
  export TEMPORAL_DYNAMIC_CONFIG="$server_home/config/dynamic-config.yaml" TEMPORAL_TLS_DIR="$server_home/tls"
  TEMPORAL_DB_PASSWORD=$(<"$db_password_file")
  export TEMPORAL_DB_PASSWORD
}

start_server() {
  server_env
  install_server_files
  # The config file is rendered by the server itself (a template reading the variables above).
  RUN_AS=$(run_as) start_process server "$log_dir/temporal-server.log" \
    "$server_home/bin/runbook-temporal-server" -config "$server_home/config" -env temporal
  phase "waiting for the Temporal server on $address (usually 10-30 s)"
  local deadline=$((SECONDS + 120))
  until as_role operator operator cluster health >/dev/null 2>&1; do
    process_alive server || { tail -n 30 "$log_dir/temporal-server.log" >&2; echo "the server exited" >&2; exit 1; }
    ((SECONDS < deadline)) || { echo "the server did not answer within 120 s (log: $log_dir/temporal-server.log)" >&2; exit 1; }
    sleep 1
  done
}

# The default namespace and the search attributes the runbooks set (common/shared.ts SEARCH_ATTRIBUTES).
register() {
  if ! as_role admin operator namespace describe --namespace default >/dev/null 2>&1; then
    phase "creating namespace default"
    as_role admin operator namespace create --namespace default --retention 720h >/dev/null
  fi
  local have name
  # A new namespace reaches every service within a few seconds; until then it is "not found".
  for _ in $(seq 1 30); do
    have=$(as_role admin operator search-attribute list --namespace default -o json 2>/dev/null) && break
    sleep 1
  done
  local names
  names=$(node -e 'for (const a of require(process.argv[1]).SEARCH_ATTRIBUTES) console.log(a.name)' "$repo_root/dist/common/shared.js")
  for name in $names; do
    grep -q "\"$name\"" <<<"$have" && continue
    phase "registering search attribute $name"
    as_role admin operator search-attribute create --namespace default --name "$name" --type Keyword >/dev/null
  done
}

# Loopback only, connecting with an operator's certificate of its own (web-ui): whoever reaches
# its port acts as an operator, so it is never bound beyond this machine.
start_ui() {
  TEMPORAL_ADDRESS=$address TEMPORAL_UI_PORT=$CLUSTER_UI_PORT TEMPORAL_UI_IP=127.0.0.1 \
    TEMPORAL_CODEC_ENDPOINT="${RUNBOOK_CODEC_ENDPOINT:-}" TEMPORAL_TLS_DIR="$server_home/tls" \
    TEMPORAL_TLS_SERVER_NAME=$TLS_SERVER_NAME RUN_AS=$(run_as) \
    start_process ui "$log_dir/temporal-ui.log" "$server_home/bin/temporal-ui-server" \
    --root "$server_home" --config config --env ui start
  local deadline=$((SECONDS + 30))
  until curl -fsS -o /dev/null "$ui_url/" 2>/dev/null; do
    process_alive ui || { tail -n 20 "$log_dir/temporal-ui.log" >&2; echo "the UI server exited" >&2; exit 1; }
    ((SECONDS < deadline)) || { echo "the UI did not answer within 30 s" >&2; exit 1; }
    sleep 0.5
  done
}

# The cluster the run directory records, if it is another cache's: its state directory.
foreign_owner() {
  local owner
  owner=$(cat "$run_dir/state-dir" 2>/dev/null || true)
  [[ -n "$owner" && "$owner" != "$state_dir" ]] && echo "$owner"
}

stop_all() {
  stop_process ui
  stop_process server
  pg_stop
  rm -f "$run_dir/state-dir"
}

# These ports are ours from now on: a cluster another cache left on them (a run killed before its
# `down`, as CI's fresh caches are) is stopped first, never reused, as the test bed does.
claim() {
  local owner
  if owner=$(foreign_owner); then
    phase "the cluster of $owner holds these ports (a run ended without its down?); stopping it first"
    stop_all
  fi
  echo "$state_dir" >"$run_dir/state-dir"
}

up() {
  mkdir -p "$log_dir"
  local started=$SECONDS
  bash "$here/build.sh" >/dev/null
  temporal_cli --version >/dev/null
  ensure_tls
  ensure_server_user
  claim
  pg_start
  phase "creating and migrating the schemas (log: $log_dir/schema.log)"
  server_env
  SQL_TOOL="$bin_dir/temporal-sql-tool" SQL_HOST=127.0.0.1 SQL_PORT=$CLUSTER_PG_PORT SQL_USER=temporal \
    SQL_PASSWORD=$TEMPORAL_DB_PASSWORD sh "$repo_root/cluster/setup-schema.sh" >>"$log_dir/schema.log" 2>&1 ||
    { tail -n 20 "$log_dir/schema.log" >&2; exit 1; }
  install_server_files
  process_alive server || start_server
  register
  process_alive ui || start_ui
  phase "up in $((SECONDS - started))s"
  status
  echo "point a worker at it: eval \"\$(npm run --silent cluster -- env)\"; the runbook CLI or the" \
    "Temporal CLI: eval \"\$(npm run --silent cluster -- env --as operator)\" (or --as admin)"
}

down() {
  local owner
  if owner=$(foreign_owner) && [[ -d "$owner" ]]; then
    phase "the cluster on these ports is $owner's, not this cache's: left running"
  else
    # Ours, or an orphan whose cache is gone (nobody else could stop it).
    stop_all
  fi
  if [[ "${1:-}" == "--purge" ]]; then
    phase "deleting $state_dir"
    rm -rf "$state_dir"
    [[ "$pg_home" == "$state_dir" ]] || rm -rf "$pg_home"
  fi
}

status() {
  local ok=0 owner
  if owner=$(foreign_owner); then
    echo "these ports hold the cluster of $owner, not of this cache ($state_dir)"
    return 1
  fi
  printf '%-12s %s\n' postgresql "$(pg_running && echo "running on 127.0.0.1:$CLUSTER_PG_PORT ($pg_data)" || { ok=1; echo stopped; })"
  if process_alive server && as_role operator operator cluster health >/dev/null 2>&1; then
    printf '%-12s %s\n' temporal "serving on $address (pid $(process_pid server); metrics http://127.0.0.1:$CLUSTER_METRICS_PORT/metrics)"
  else
    ok=1; printf '%-12s %s\n' temporal "$(process_alive server && echo 'running, not serving yet' || echo stopped)"
  fi
  printf '%-12s %s\n' web-ui "$(process_alive ui && echo "$ui_url (pid $(process_pid ui))" || { ok=1; echo stopped; })"
  printf '%-12s %s\n' logs "$log_dir"
  return $ok
}

# One up, down or restart at a time on these ports, whichever cache asks. Held on fd 8, which
# the processes started here close (start_process, pg_ctl_): held by a daemon, it would block
# every later run.
lock() {
  ensure_run_dir
  exec 8>"$run_dir/lock"
  if ! flock -n 8; then
    phase "another cluster up or down is running; waiting for it"
    flock 8
  fi
}

print_env() {
  local role=worker
  if [[ "${1:-}" == --as ]]; then role=${2:-}; elif [[ "${1:-}" == --as=* ]]; then role=${1#--as=}; fi
  [[ " $CLIENT_ROLES " == *" $role "* ]] || { echo "env --as: one of $CLIENT_ROLES" >&2; exit 2; }
  [[ -s "$tls_dir/$role.pem" ]] || { echo "no certificates yet in $tls_dir: npm run cluster -- up" >&2; exit 1; }
  echo "export TEMPORAL_ADDRESS=$address TEMPORAL_NAMESPACE=default RUNBOOK_UI_URL=$ui_url $(tls_env "$role")"
}

case "${1:-}" in
  up) lock; up ;;
  down) shift; lock; down "$@" ;;
  status) status ;;
  env) shift; print_env "$@" ;;
  restart-server) lock; [[ -z "$(foreign_owner)" ]] || { echo "not this cache's cluster" >&2; exit 1; }; stop_process server; start_server ;;
  *) echo "usage: npm run cluster -- up|down [--purge]|status|env [--as worker|operator|admin]|restart-server" >&2; exit 2 ;;
esac
