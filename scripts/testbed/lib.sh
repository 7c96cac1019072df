# shellcheck shell=bash disable=SC2034,SC2016
# Shared settings and helpers of the test bed; sourced by testbed.sh and its parts.

# Honour the same cache root as the rest of the project (scripts/temporal-cli.sh).
RUNBOOK_CACHE_DIR="${RUNBOOK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/runbook}"
TB_CACHE="$RUNBOOK_CACHE_DIR/testbed"
# Runtime state is thrown away by `down`, so every `up` after a `down` starts from the
# same known hosts; it lives outside the cache so a stale cache never looks "up".
TB_STATE="${TESTBED_STATE_DIR:-/run/runbook-testbed}"

TB_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TB_FILES="$TB_REPO_ROOT/testbed"

TB_SUITE=bookworm
TB_MIRROR="${TESTBED_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
TB_SECURITY_MIRROR="${TESTBED_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"

TB_BRIDGE=rbtb0
TB_SUBNET_PREFIX=10.213.0
TB_GATEWAY=10.213.0.1
TB_NETMASK=24

# Ports of the services this machine offers to the hosts, all bound to the bridge address only.
TB_APT_PORT=3142
TB_GIT_PORT=9418
TB_PEBBLE_PORT=14000
TB_PEBBLE_MGMT_PORT=15000
TB_DNS_PORT=8053
TB_CHALLTESTSRV_MGMT_PORT=8055

TB_DOMAIN=app.local.test
TB_APP_PORT=8000
# Validity of certificates Pebble issues (seconds): short, so "expires within 30 days" holds.
TB_CERT_VALIDITY="${TESTBED_CERT_VALIDITY:-604800}"

# name  last-octet  roles(comma)  colour  group
TB_BED_HOSTS=(
  "web-blue 11 web blue bed"
  "web-green 12 web green bed"
  "db 20 db - bed"
  "lb 30 lb - bed"
  "fresh 40 - - bed"
)
TB_HOSTS=("${TB_BED_HOSTS[@]}")

# The fleet (`up --web N`): web-01..web-N on .101 up, each running the app, behind a load
# balancer of their own (lb-fleet), on a database of their own (`fleet` on db), so a rolling
# deploy over the fleet never touches what the blue/green tests use. Its size is recorded in
# the state dir, so `status`, `console` and `down` know it without being told again.
TB_FLEET_FIRST_OCTET=101
TB_FLEET_MAX=150
TB_FLEET_LB_OCTET=31
TB_FLEET_DATABASE=fleet
TB_FLEET_UPSTREAM_CONF=/etc/nginx/upstream/nginx.conf
# The table by host name, indexed in this shell whenever TB_HOSTS changes (its size says
# whether it did: the table only grows by a fleet or goes back to the bed's hosts), so that the
# subshells of $(host_addr ...) inherit it: a fleet's /etc/hosts no longer scans the table for
# every line of every host.
declare -gA TB_HOST_ROW=()
TB_HOST_ROWS_OF=-1
index_hosts() {
  local h
  TB_HOST_ROW=()
  for h in "${TB_HOSTS[@]}"; do TB_HOST_ROW[${h%% *}]=$h; done
  TB_HOST_ROWS_OF=${#TB_HOSTS[@]}
}
fleet_size_file() { echo "$TB_STATE/fleet-size"; }
fleet_recorded_size() {
  local f
  f=$(fleet_size_file)
  if [[ -s "$f" && "$(<"$f")" =~ ^[0-9]+$ ]]; then cat "$f"; else echo 0; fi
}
fleet_host_name() { printf 'web-%02d' "$1"; }
# Adds the fleet's hosts to TB_HOSTS (idempotent for one size).
add_fleet_hosts() {
  local size=$1 i
  ((size > 0)) || return 0
  TB_HOSTS+=("lb-fleet $TB_FLEET_LB_OCTET lb - fleet")
  for ((i = 1; i <= size; i++)); do
    TB_HOSTS+=("$(fleet_host_name "$i") $((TB_FLEET_FIRST_OCTET + i - 1)) web - fleet")
  done
  index_hosts
}
add_fleet_hosts "$(fleet_recorded_size)"
index_hosts

host_names() { local h; for h in "${TB_HOSTS[@]}"; do echo "${h%% *}"; done; }

host_field() {
  # host_field NAME INDEX: INDEX 1=octet 2=roles 3=colour 4=group
  local name=$1 index=$2 fields
  ((TB_HOST_ROWS_OF == ${#TB_HOSTS[@]})) || index_hosts
  [[ -n "${TB_HOST_ROW[$name]:-}" ]] || die "unknown host: $name"
  read -r -a fields <<<"${TB_HOST_ROW[$name]}"
  echo "${fields[$index]}"
}

host_addr() { echo "$TB_SUBNET_PREFIX.$(host_field "$1" 1)"; }
host_roles() { host_field "$1" 2; }
host_colour() { host_field "$1" 3; }
host_group() { host_field "$1" 4; }
hosts_in_group() { local h; for h in $(host_names); do if [[ "$(host_group "$h")" == "$1" ]]; then echo "$h"; fi; done; }
host_netns() { echo "rbtb-$1"; }
# Interface names are limited to 15 characters, so the machine's end is named by octet.
host_veth() { echo "rbtb$(host_field "$1" 1)"; }
host_has_role() { [[ ",$(host_roles "$1")," == *",$2,"* ]]; }
host_by_role() { local h; for h in $(host_names); do if host_has_role "$h" "$1"; then echo "$h"; fi; done; }
# host_in_group_by_role GROUP ROLE
host_in_group_by_role() { local h; for h in $(hosts_in_group "$1"); do if host_has_role "$h" "$2"; then echo "$h"; fi; done; }

log() { printf '[testbed %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[testbed] error: %s\n' "$*" >&2; exit 1; }

require_root() { [[ "$(id -u)" == 0 ]] || die "must run as root (network namespaces, mounts, chroot)"; }

ensure_machine_packages() {
  # Only what the machine itself needs; everything the hosts need is in their root.
  local -A want=(
    [debootstrap]=debootstrap [pebble]=pebble [git]=git [ssh-keygen]=openssh-client
    [ssh]=openssh-client [openssl]=openssl [curl]=curl [ip]=iproute2 [nsenter]=util-linux
    [dpkg-scanpackages]=dpkg-dev [python3]=python3 [prometheus]=prometheus [promtool]=prometheus
  )
  local cmd missing=()
  for cmd in "${!want[@]}"; do
    if [[ ! -x "/usr/bin/$cmd" && ! -x "/usr/sbin/$cmd" && ! -x "/sbin/$cmd" && ! -x "/bin/$cmd" ]]; then
      missing+=("${want[$cmd]}")
    fi
  done
  if ((${#missing[@]})); then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    log "installing on this machine: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; }
  fi
}

# A pid file is trusted only while the process still runs the expected program, so a
# recycled pid is never signalled.
pid_alive() {
  local pidfile=$1 expect=$2 pid
  [[ -s "$pidfile" ]] || return 1
  pid=$(<"$pidfile")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  proc_running "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$expect"
}

# Running, as opposed to gone or a zombie waiting for a parent that may reap it late.
proc_running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ "${stat:0:1}" != Z ]]
}

stop_pidfile() {
  local pidfile=$1 expect=$2 name=$3 pid i
  if pid_alive "$pidfile" "$expect"; then
    pid=$(<"$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      proc_running "$pid" || break
      sleep 0.1
    done
    if proc_running "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    log "stopped $name"
  fi
  rm -f "$pidfile"
}

# Starts a long-running program detached from this shell, logging into the state dir.
start_daemon() {
  local name=$1; shift
  mkdir -p "$TB_STATE/pids" "$TB_STATE/logs"
  spawn_detached "$TB_STATE/pids/$name.pid" "$TB_STATE/logs/$name.log" "$@"
}

# Runs CMD in a session of its own (a Ctrl-C of `up` does not reach it); the process
# writes its own pid, which stays right whether or not setsid had to fork.
spawn_detached() {
  local pidfile=$1 logfile=$2
  shift 2
  rm -f "$pidfile"
  setsid bash -c 'echo "$$" >"$0"; exec "$@"' "$pidfile" "$@" </dev/null >>"$logfile" 2>&1 9>&- &
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -s "$pidfile" ]] && return 0
    sleep 0.05
  done
  die "could not start: $*"
}

wait_until() {
  # wait_until SECONDS DESCRIPTION CMD...: polls CMD every 0.2 s.
  local limit=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "timed out after ${limit}s waiting for $what"
      return 1
    fi
    sleep 0.2
  done
}

tcp_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null; }

ssh_opts() {
  printf '%s\n' -i "$TB_CACHE/ssh/id_ed25519" -o "UserKnownHostsFile=$TB_CACHE/ssh/known_hosts" \
    -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=3 -o LogLevel=ERROR
}

host_ssh() {
  local host=$1 opts
  shift
  mapfile -t opts < <(ssh_opts)
  # shellcheck disable=SC2029 # the caller's words are the remote command line
  ssh "${opts[@]}" "root@$(host_addr "$host")" "$@"
}
