#!/usr/bin/env bash
# Builds the Temporal server (cluster/server: the pinned server with our authorizer), its SQL
# schema tool and the Web UI server from the Go module proxy into the cache, once per machine
# (a marker file says the tools were built; the server's binary is named after its source's
# hash, so a changed authorizer is built again). The Go output goes to a log file; the
# terminal gets one line per phase.
#   build.sh            build what is missing, print the binaries' directory
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

built() { [[ -f "$bin_dir/ok" && -x "$bin_dir/$(server_binary_name)" ]]; }
if built; then echo "$bin_dir"; exit 0; fi

grep -q "go.temporal.io/server v$TEMPORAL_SERVER_VERSION\$" "$server_src/go.mod" ||
  { echo "$server_src/go.mod must require go.temporal.io/server v$TEMPORAL_SERVER_VERSION (common.sh)" >&2; exit 1; }
go_bin=$(find_go)
[[ -n "$go_bin" ]] || { echo "the cluster is built from source and needs Go (go.dev/dl, 1.25 or newer)" >&2; exit 3; }
mkdir -p "$bin_dir"
log="$bin_dir/build.log"
# One build at a time per machine: a second caller waits, then finds the marker.
exec 9>"$bin_dir/build.lock"
flock 9
if built; then echo "$bin_dir"; exit 0; fi

tmp=$(mktemp -d "$bin_dir/build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
started=$SECONDS
build_one() { # what, package@version, estimate, name in the cache
  phase "building $1 ($3; log: $log)"
  local t=$SECONDS
  if ! GOBIN="$tmp" GOFLAGS=-mod=mod CGO_ENABLED=0 "$go_bin" install -ldflags "-s -w" "$2" >>"$log" 2>&1; then
    echo "building $1 failed; the last lines of $log:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  # Go names the binary after the package's folder: "server" for both the server and the UI.
  local built="$tmp/$(basename "${2%@*}")"
  mv -f "$built" "$bin_dir/$4"
  phase "built $1 in $((SECONDS - t))s"
}
echo "== $(date) $("$go_bin" version)" >>"$log"
server=$(server_binary_name)
if [[ ! -x "$bin_dir/$server" ]]; then
  phase "building the Temporal server v$TEMPORAL_SERVER_VERSION with the cluster's authorizer" \
    "(10-15 min on idle cores, 40 on a busy machine, 3 with Go's cache warm; log: $log)"
  t=$SECONDS
  # go.sum is the repository's: -mod=readonly fails rather than fetch anything it does not list.
  if ! (cd "$server_src" && GOFLAGS=-mod=readonly CGO_ENABLED=0 "$go_bin" build -ldflags "-s -w" \
    -o "$tmp/$server" .) >>"$log" 2>&1; then
    echo "building the server failed; the last lines of $log:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  mv -f "$tmp/$server" "$bin_dir/$server"
  # Older builds of it are of no use any more.
  find "$bin_dir" -maxdepth 1 -name 'runbook-temporal-server-*' ! -name "$server" -delete
  phase "built the server in $((SECONDS - t))s"
fi
if [[ ! -f "$bin_dir/ok" ]]; then
  build_one "Temporal SQL tool v$TEMPORAL_SERVER_VERSION" \
    "go.temporal.io/server/cmd/tools/sql@v$TEMPORAL_SERVER_VERSION" "1-4 min" temporal-sql-tool
  build_one "Temporal Web UI server v$TEMPORAL_UI_VERSION" \
    "github.com/temporalio/ui-server/v2/cmd/server@v$TEMPORAL_UI_VERSION" "1-3 min" temporal-ui-server
  touch "$bin_dir/ok"
fi
phase "built the cluster's binaries in $((SECONDS - started))s into $bin_dir"
echo "$bin_dir"
