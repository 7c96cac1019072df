# Shared by the cluster scripts: the pinned versions, where things live, the ports.
# Sourced, not run.

# The server the pinned CLI (scripts/temporal-cli.sh, 1.5.1) embeds: the CLI's go.mod requires
# go.temporal.io/server v1.29.1 and github.com/temporalio/ui-server/v2 v2.42.1, so the cluster
# runs the same server and UI the dev-server tests run. docker-compose.temporal.yml uses the same
# (test/compose.fast.test.ts checks it against these lines).
TEMPORAL_SERVER_VERSION=1.29.1
TEMPORAL_UI_VERSION=2.42.1

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# The server's source: a main around the pinned module (its go.mod says which) with our authorizer.
server_src="$repo_root/cluster/server"
# Absolute: PostgreSQL's tools run from / (see as_pg_owner).
cache_root=$(realpath -m -- "${RUNBOOK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/runbook}")
bin_dir="$cache_root/temporal-server-$TEMPORAL_SERVER_VERSION"
state_dir=$(realpath -m -- "${RUNBOOK_CLUSTER_DIR:-$cache_root/cluster}")
log_dir="$state_dir/logs"

# 127.0.0.1 only, and away from the dev server's ports (7233/8233 by default, random in tests).
CLUSTER_PG_PORT="${RUNBOOK_CLUSTER_PG_PORT:-7432}"
CLUSTER_FRONTEND_PORT="${RUNBOOK_CLUSTER_PORT:-7333}"
CLUSTER_UI_PORT="${RUNBOOK_CLUSTER_UI_PORT:-8333}"
# The server's other services (history, matching, worker, their membership ports) and its
# metrics endpoint sit at fixed offsets from the frontend port; cluster/temporal.yaml reads them.
CLUSTER_HTTP_PORT=$((CLUSTER_FRONTEND_PORT + 10))
CLUSTER_METRICS_PORT=$((CLUSTER_FRONTEND_PORT + 11))

# What runs is machine-wide, as the ports are, so its record is too: the pids of the cluster's
# processes and the state directory they belong to live here, outside every cache. Whichever
# cache runs `up` next finds a cluster another cache left running (a suite killed before its
# `down`; CI's fresh cache deleted under it) and stops it, rather than failing on taken ports.
run_dir="${RUNBOOK_CLUSTER_RUN_DIR:-/tmp/runbook-cluster-$CLUSTER_FRONTEND_PORT}"

# The server's binary in the cache, named after its source, so that a change to it is built again.
server_binary_name() {
  echo "runbook-temporal-server-$(cat "$server_src"/go.mod "$server_src"/go.sum "$server_src"/*.go | sha256sum | cut -c1-12)"
}

find_go() {
  local go_bin
  go_bin=$(command -v go 2>/dev/null || true)
  [[ -z "$go_bin" && -x /usr/local/go/bin/go ]] && go_bin=/usr/local/go/bin/go
  echo "$go_bin"
}

# One line per phase, with the time it took so far; long phases say how long they usually take.
phase() { echo "[cluster $(date +%H:%M:%S)] $*" >&2; }

# pid: sent `gentle`, given `seconds` to exit, then sent `last` (the server's and PostgreSQL's
# stops differ only in these).
signal_then() {
  local pid=$1 gentle=$2 seconds=$3 last=$4
  kill "-$gentle" "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 $((seconds * 2))); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  kill "-$last" "$pid" 2>/dev/null || true
}
