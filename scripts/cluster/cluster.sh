#!/usr/bin/env bash
# A production-style Temporal on this machine, without Docker: the real server (built from the
# Go module proxy at the version the pinned CLI embeds) on PostgreSQL persistence and
# visibility, with the Web UI, all on 127.0.0.1 at ports of its own.
#   npm run cluster -- up        build once, start PostgreSQL, migrate, start server and UI
#   npm run cluster -- down      stop them (the data stays; `down --purge` deletes it)
#   npm run cluster -- status    what runs where
#   npm run cluster -- env       the variables that point the worker and the CLI at it
#   npm run cluster -- restart-server   stop and start the server process only (tests use it)
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
source "$here/common.sh"
source "$here/postgres.sh"
source "$here/processes.sh"

address="127.0.0.1:$CLUSTER_FRONTEND_PORT"
ui_url="http://127.0.0.1:$CLUSTER_UI_PORT"

temporal_cli() { bash "$repo_root/scripts/temporal-cli.sh" "$@"; }

# What the server's config template (cluster/temporal.yaml) and the SQL tool read.
server_env() {
  export TEMPORAL_PORT=$CLUSTER_FRONTEND_PORT TEMPORAL_METRICS_PORT=$CLUSTER_METRICS_PORT TEMPORAL_BIND_IP=127.0.0.1
  export TEMPORAL_DB_HOST=127.0.0.1 TEMPORAL_DB_PORT=$CLUSTER_PG_PORT TEMPORAL_DB_USER=temporal
  export TEMPORAL_DYNAMIC_CONFIG="$repo_root/temporal-dynamic-config.yaml"
  TEMPORAL_DB_PASSWORD=$(<"$db_password_file")
  export TEMPORAL_DB_PASSWORD
}

start_server() {
  server_env
  # The config file is rendered by the server itself; --config is relative to --root.
  start_process server "$log_dir/temporal-server.log" \
    "$bin_dir/temporal-server" --root "$repo_root" --config cluster --env temporal --allow-no-auth start
  phase "waiting for the Temporal server on $address (usually 10-30 s)"
  local deadline=$((SECONDS + 120))
  until temporal_cli operator cluster health --address "$address" >/dev/null 2>&1; do
    process_alive server || { tail -n 30 "$log_dir/temporal-server.log" >&2; echo "the server exited" >&2; exit 1; }
    ((SECONDS < deadline)) || { echo "the server did not answer within 120 s (log: $log_dir/temporal-server.log)" >&2; exit 1; }
    sleep 1
  done
}

# The default namespace and the search attributes the runbooks set (src/shared.ts SEARCH_ATTRIBUTES).
register() {
  if ! temporal_cli operator namespace describe --address "$address" --namespace default >/dev/null 2>&1; then
    phase "creating namespace default"
    temporal_cli operator namespace create --address "$address" --namespace default --retention 720h >/dev/null
  fi
  local have name
  # A new namespace reaches every service within a few seconds; until then it is "not found".
  for _ in $(seq 1 30); do
    have=$(temporal_cli operator search-attribute list --address "$address" --namespace default -o json 2>/dev/null) && break
    sleep 1
  done
  local names
  names=$(node -e 'for (const a of require(process.argv[1]).SEARCH_ATTRIBUTES) console.log(a.name)' "$repo_root/dist/common/shared.js")
  for name in $names; do
    grep -q "\"$name\"" <<<"$have" && continue
    phase "registering search attribute $name"
    temporal_cli operator search-attribute create --address "$address" --namespace default --name "$name" --type Keyword >/dev/null
  done
}

start_ui() {
  TEMPORAL_ADDRESS=$address TEMPORAL_UI_PORT=$CLUSTER_UI_PORT TEMPORAL_UI_IP=127.0.0.1 \
    TEMPORAL_CODEC_ENDPOINT="${RUNBOOK_CODEC_ENDPOINT:-}" \
    start_process ui "$log_dir/temporal-ui.log" "$bin_dir/temporal-ui-server" --root "$repo_root" --config cluster --env ui start
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
  claim
  pg_start
  phase "creating and migrating the schemas (log: $log_dir/schema.log)"
  server_env
  SQL_TOOL="$bin_dir/temporal-sql-tool" SQL_HOST=127.0.0.1 SQL_PORT=$CLUSTER_PG_PORT SQL_USER=temporal \
    SQL_PASSWORD=$TEMPORAL_DB_PASSWORD sh "$repo_root/cluster/setup-schema.sh" >>"$log_dir/schema.log" 2>&1 ||
    { tail -n 20 "$log_dir/schema.log" >&2; exit 1; }
  process_alive server || start_server
  register
  process_alive ui || start_ui
  phase "up in $((SECONDS - started))s"
  status
  echo "point the worker and the CLI at it: eval \"\$(npm run --silent cluster -- env)\""
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
  if process_alive server && temporal_cli operator cluster health --address "$address" >/dev/null 2>&1; then
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

case "${1:-}" in
  up) lock; up ;;
  down) shift; lock; down "$@" ;;
  status) status ;;
  env) echo "export TEMPORAL_ADDRESS=$address TEMPORAL_NAMESPACE=default RUNBOOK_UI_URL=$ui_url" ;;
  restart-server) lock; [[ -z "$(foreign_owner)" ]] || { echo "not this cache's cluster" >&2; exit 1; }; stop_process server; start_server ;;
  *) echo "usage: npm run cluster -- up|down [--purge]|status|env|restart-server" >&2; exit 2 ;;
esac
