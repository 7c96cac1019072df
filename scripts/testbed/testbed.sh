#!/usr/bin/env bash
# The test bed of real hosts the runbooks act on (see testbed/README.md).
#   testbed.sh up [--web N]
#                       create or complete it, wait until every service answers; with --web,
#                       a fleet of N web hosts behind lb-fleet too (0 removes it)
#   testbed.sh down     stop and remove everything it started; keep the caches
#   testbed.sh status   print each host and service as up/down; exit 0 only if all are up
#   testbed.sh console HOST CMD [ARG...]
#                       run a command as root inside a host without SSH, as a cloud provider's
#                       console would (for tests that stop sshd or turn root login off)
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

# What the test bed creates (host layers, keys, logs) gets the same modes whatever the caller's umask.
umask 022
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
for part in rootfs keys network pebble sample-app hosts roles status fleet prometheus; do
  # shellcheck disable=SC1090
  source "$here/$part.sh"
done

up() {
  local started=$SECONDS host web=
  while (($#)); do
    case "$1" in
      --web) [[ $# -ge 2 ]] || die "--web needs a number"; web=$2; shift 2 ;;
      --web=*) web=${1#--web=}; shift ;;
      *) die "up: unknown option $1" ;;
    esac
  done
  require_root
  ensure_machine_packages
  claim_state
  if [[ -n "$web" ]]; then fleet_resize "$web"; fi
  ensure_rootfs
  ensure_keys
  ensure_pebble_pki
  ensure_sample_repo
  ensure_network
  ensure_apt_server
  ensure_git_daemon
  ensure_pebble
  # In parallel: each host's layer is prepared and its namespaces made on their own.
  local starting=()
  for host in $(host_names); do
    start_host "$host" &
    starting+=("$!:$host")
  done
  for host in "${starting[@]}"; do wait "${host%%:*}" || die "could not start host ${host#*:}"; done
  for host in $(host_names); do
    wait_until 30 "host $host to boot" host_running "$host" \
      || die "host $host did not start, see $(host_dir "$host")/console.log"
  done
  wait_until 30 "pebble" pebble_answers || die "pebble does not answer, see $TB_STATE/logs/pebble.log"
  save_pebble_roots || log "could not save Pebble's issuing root (non-fatal)"
  # In parallel: a fleet's 20 sshds start together.
  local pids=() failed=()
  for host in $(host_names); do
    wait_for_sshd "$host" &
    pids+=("$!:$host")
  done
  for host in "${pids[@]}"; do wait "${host%%:*}" || failed+=("${host#*:}"); done
  if ((${#failed[@]})); then
    for host in "${failed[@]}"; do explain_host "$host"; done
    die "sshd does not answer on ${failed[*]}"
  fi
  setup_roles
  write_fleet_inventory
  ensure_prometheus
  log "waiting for every service to answer"
  wait_for_services || { print_status || true; die "not every service answers"; }
  if (($(fleet_recorded_size))); then
    log "fleet: $(fleet_recorded_size) web hosts behind lb-fleet ($(host_addr lb-fleet)); inventory $TB_STATE/inventory/fleet.yaml"
  fi
  log "test bed up in $((SECONDS - started))s: ssh -i $TB_CACHE/ssh/id_ed25519 -o UserKnownHostsFile=$TB_CACHE/ssh/known_hosts root@$(host_addr web-blue)"
}

down() {
  local host
  require_root
  # In parallel: a fleet of 100 took 2 minutes one host after another.
  # shellcheck disable=SC2046 # host names are single words
  stop_hosts $(host_names)
  stop_prometheus
  stop_pebble
  stop_git_daemon
  stop_apt_server
  teardown_network
  # The hosts' own layers go too: the next `up` starts from the same known state.
  if [[ -d "$TB_STATE" ]]; then
    if grep -qF " $TB_STATE/" /proc/self/mountinfo; then
      die "something is still mounted under $TB_STATE; not deleting it"
    fi
    rm -rf --one-file-system "$TB_STATE"
  fi
  log "down (caches kept in $TB_CACHE)"
}

# The runtime state belongs to the cache whose keys its hosts trust. State that another cache
# made (a run killed before its `down`, with another RUNBOOK_CACHE_DIR, as CI's fresh caches
# are) has hosts that refuse this cache's key: it is taken down first, never reused.
claim_state() {
  local owner="$TB_STATE/cache" cache previous
  mkdir -p "$TB_CACHE"
  cache=$(cd "$TB_CACHE" && pwd -P)
  if [[ -d "$TB_STATE" ]]; then
    previous=$(cat "$owner" 2>/dev/null || echo "an unknown cache")
    if [[ "$previous" != "$cache" ]]; then
      log "$TB_STATE holds a test bed made with $previous; taking it down first"
      down
      TB_HOSTS=("${TB_BED_HOSTS[@]}")
      index_hosts
    fi
  fi
  mkdir -p "$TB_STATE"
  chmod 0700 "$TB_STATE"
  echo "$cache" >"$owner"
}

status() {
  require_root
  print_status
}

# One `up` or `down` at a time (parallel test runs may both call `up`). Held on fd 9,
# which spawn_detached and host_exec close: a daemon keeping it would block all later runs.
lock() {
  # Machine-wide, as the state is: two caches must not run up/down on the one bed at once.
  exec 9>"$TB_STATE.lock"
  if ! flock -n 9; then
    log "another testbed up/down is running; waiting for it"
    flock 9
  fi
}

case "${1:-}" in
  up) shift; lock; up "$@" ;;
  down) lock; down ;;
  status) status ;;
  console) [[ $# -ge 3 ]] || { echo "usage: $0 console HOST CMD [ARG...]" >&2; exit 2; }; shift; require_root; host_exec "$@" ;;
  *) echo "usage: $0 up [--web N]|down|status|console HOST CMD..." >&2; exit 2 ;;
esac
