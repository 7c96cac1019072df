#!/usr/bin/env bash
# Locates the pinned Temporal CLI (the real dev server), building it once into a cache
# outside the clone so fresh clones on the same machine reuse it.
#   temporal-cli.sh --path      print the binary's path (build it if needed)
#   temporal-cli.sh ARGS...     run the located CLI with ARGS
# Exit 3 with a message when there is neither a binary nor Go: callers then fall back
# to the SDK's own download (TestWorkflowEnvironment.createLocal's default).
set -euo pipefail

# The one place the version is pinned.
TEMPORAL_CLI_VERSION=1.5.1

cache_root="${RUNBOOK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/runbook}"
cached="$cache_root/temporal-$TEMPORAL_CLI_VERSION/temporal"

locate() {
  if [[ -n "${TEMPORAL_CLI:-}" ]]; then
    [[ -x "$TEMPORAL_CLI" ]] || { echo "TEMPORAL_CLI=$TEMPORAL_CLI is not an executable file" >&2; exit 2; }
    echo "$TEMPORAL_CLI"; return
  fi
  if [[ -x "$cached" && -f "$cached.ok" ]]; then echo "$cached"; return; fi
  local on_path
  if on_path=$(command -v temporal 2>/dev/null) && "$on_path" --version 2>/dev/null | grep -q "$TEMPORAL_CLI_VERSION"; then
    echo "$on_path"; return
  fi
  local go_bin
  go_bin=$(command -v go 2>/dev/null || true)
  [[ -z "$go_bin" && -x /usr/local/go/bin/go ]] && go_bin=/usr/local/go/bin/go
  if [[ -z "$go_bin" ]]; then
    if [[ -n "${on_path:-}" ]]; then echo "$on_path"; return; fi
    echo "no Temporal CLI (TEMPORAL_CLI, PATH, $cached) and no Go to build it: falling back to the SDK's download" >&2
    exit 3
  fi
  build "$go_bin"
  echo "$cached"
}

build() {
  local go_bin=$1 started=$SECONDS tmp log pid
  mkdir -p "$(dirname "$cached")"
  tmp=$(mktemp -d "$(dirname "$cached")/build.XXXXXX")
  log="$(dirname "$cached")/build.log"
  echo "building the Temporal CLI $TEMPORAL_CLI_VERSION with $("$go_bin" version | cut -d' ' -f3)," \
    "first run on this machine only, about 4-8 minutes (1 with a warm Go cache); log in $log" >&2
  # The release's own version string, as its release builds set it. Go's download and compile
  # chatter goes to the log, not to the newcomer's terminal.
  GOBIN="$tmp" GOFLAGS=-mod=mod CGO_ENABLED=0 \
    "$go_bin" install -ldflags "-s -w -X github.com/temporalio/cli/temporalcli.Version=$TEMPORAL_CLI_VERSION" \
    "github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_CLI_VERSION" >"$log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 5
    if kill -0 "$pid" 2>/dev/null && (( (SECONDS - started) % 60 < 5 && SECONDS - started >= 60 )); then
      echo "  still building the Temporal CLI ($(( (SECONDS - started) / 60 )) min so far," \
        "$(grep -c '^go: downloading' "$log" || true) modules downloaded)" >&2
    fi
  done
  if ! wait "$pid"; then
    tail -n 20 "$log" >&2
    echo "building the Temporal CLI failed; the whole log is $log" >&2
    rm -rf "$tmp"
    exit 1
  fi
  # Rename is atomic: a concurrent caller sees either no binary or a whole one.
  mv -f "$tmp/temporal" "$cached"
  "$cached" --version | grep -q "version $TEMPORAL_CLI_VERSION " \
    || { echo "built binary does not report version $TEMPORAL_CLI_VERSION" >&2; exit 1; }
  touch "$cached.ok"
  rm -rf "$tmp"
  echo "built the Temporal CLI in $((SECONDS - started))s: $cached" >&2
}

if [[ "${1:-}" == "--path" ]]; then
  locate
else
  bin=$(locate)
  exec "$bin" "$@"
fi
