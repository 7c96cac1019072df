# shellcheck shell=bash
# The hosts: each one an overlay of the shared base root (its changes in its own upper
# layer under $TB_STATE/hosts/NAME), with its own network, mount, PID, UTS and IPC
# namespaces, entered through chroot.

host_dir() { echo "$TB_STATE/hosts/$1"; }

# The pid of the `unshare` process that holds the host (its pid file is checked against
# the command line, so a recycled pid is never mistaken for it).
host_holder_pid() {
  local pidfile
  pidfile="$(host_dir "$1")/pid"
  pid_alive "$pidfile" "host-init.sh $1 " || return 1
  cat "$pidfile"
}

# The host's PID 1 (tini) as this machine sees it: the target for nsenter.
host_init_pid() {
  local holder child
  holder=$(host_holder_pid "$1") || return 1
  # The file has no trailing newline, so read's status says nothing: check the value.
  read -r child _ <"/proc/$holder/task/$holder/children" || true
  [[ -n "$child" ]] || return 1
  echo "$child"
}

host_running() { host_init_pid "$1" >/dev/null 2>&1; }

any_host_running() {
  local host
  for host in $(host_names); do
    if host_running "$host"; then return 0; fi
  done
  return 1
}

# Runs a command inside a host, as root, with a clean environment; stdin passes through.
# Services it starts outlive it, so it must not pass on testbed.sh's lock (fd 9).
host_exec() {
  local host=$1 pid
  shift
  pid=$(host_init_pid "$host") || { echo "host $host is not running" >&2; return 1; }
  nsenter --target "$pid" --mount --uts --ipc --net --pid --root --wd \
    /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 "$@" 9>&-
}

# Fills a new upper layer with what makes this host itself; done once per host lifetime
# (until `down`), never while it runs, so nothing a runbook changed is overwritten.
prepare_host() {
  local host=$1 dir upper addr roles role other name octet
  dir=$(host_dir "$host")
  [[ -f "$dir/prepared" ]] && return 0
  upper="$dir/upper"
  addr=$(host_addr "$host")
  roles=$(host_roles "$host")
  rm -rf --one-file-system "$dir"
  mkdir -p "$upper" "$dir/work" "$dir/root"

  cp -a "$TB_FILES/hosts/all/." "$upper/"
  for role in ${roles//,/ }; do
    if [[ -d "$TB_FILES/hosts/$role" ]]; then cp -a "$TB_FILES/hosts/$role/." "$upper/"; fi
  done
  # The layer's files are the host's system files whoever checked the repository out, and
  # the upper layer's own root is the host's `/`: root's, writable by root only.
  chown -R 0:0 "$upper"
  chmod -R go-w "$upper"

  echo "$host" >"$upper/etc/hostname"
  {
    printf '127.0.0.1\tlocalhost\n'
    printf '%s\t%s\n' "$TB_GATEWAY" testbed-gateway
    # Straight from the table: no subshell per line, which a fleet's 20 hosts x 26 lines add up.
    for other in "${TB_HOSTS[@]}"; do
      read -r name octet _ <<<"$other"
      printf '%s.%s\t%s\n' "$TB_SUBNET_PREFIX" "$octet" "$name"
    done
  } >"$upper/etc/hosts"

  mkdir -p "$upper/etc/ssh/sshd_config.d"
  # Only where sshd listens and which key it shows: the rest of sshd_config stays Debian's,
  # for a provision runbook to change (a drop-in setting would win over its edits).
  printf 'ListenAddress %s\nHostKey /etc/ssh/ssh_host_ed25519_key\n' "$addr" \
    >"$upper/etc/ssh/sshd_config.d/00-testbed.conf"
  install -m 0600 "$TB_CACHE/ssh/hostkeys/$host" "$upper/etc/ssh/ssh_host_ed25519_key"
  install -m 0644 "$TB_CACHE/ssh/hostkeys/$host.pub" "$upper/etc/ssh/ssh_host_ed25519_key.pub"
  install -d -m 0700 "$upper/root" "$upper/root/.ssh"
  install -m 0600 "$TB_CACHE/ssh/id_ed25519.pub" "$upper/root/.ssh/authorized_keys"

  install -d -m 0755 "$upper/etc/ssl/pebble"
  install -m 0644 "$TB_CACHE/pebble/ca.pem" "$upper/etc/ssl/pebble/ca.pem"

  install -d -m 0755 "$upper/etc/apt/sources.list.d"
  printf 'deb [trusted=yes] http://%s:%s ./\n' "$TB_GATEWAY" "$TB_APT_PORT" \
    >"$upper/etc/apt/sources.list.d/testbed.list"

  install -d -m 0755 "$upper/etc/testbed"
  printf 'name=%s\naddress=%s\nroles=%s\n' "$host" "$addr" "$roles" >"$upper/etc/testbed/host"
  touch "$dir/prepared"
}

start_host() {
  local host=$1 dir
  if host_running "$host"; then return 0; fi
  dir=$(host_dir "$host")
  # A holder left without its host (killed half-way) would keep the old namespaces.
  stop_host "$host" quiet
  prepare_host "$host"
  log "starting host $host ($(host_addr "$host"))"
  # --kill-child: whatever kills the holder takes the host's whole PID namespace with it.
  spawn_detached "$dir/pid" "$dir/console.log" ip netns exec "$(host_netns "$host")" \
    unshare --mount --uts --ipc --pid --fork --kill-child --propagation private \
    /bin/bash "$TB_REPO_ROOT/scripts/testbed/host-init.sh" "$host" \
    "$TB_ROOTFS" "$dir/upper" "$dir/work" "$dir/root"
}

stop_host() {
  local host=$1 quiet=${2:-} dir ns pid pids i
  dir=$(host_dir "$host")
  ns=$(host_netns "$host")
  if pid=$(host_holder_pid "$host"); then
    # unshare blocks TERM while it waits for its child; KILL it, and --kill-child
    # takes the host's PID 1, hence every process of the host, down at once.
    kill -KILL "$pid" 2>/dev/null || true
    [[ -n "$quiet" ]] || log "stopping host $host"
  fi
  rm -f "$dir/pid"
  # Anything else still inside the host's network namespace (e.g. a stray nsenter).
  if [[ -e "/run/netns/$ns" ]]; then
    for ((i = 0; i < 50; i++)); do
      pids=$(ip netns pids "$ns" 2>/dev/null || true)
      [[ -z "$pids" ]] && break
      # shellcheck disable=SC2086
      kill -KILL $pids 2>/dev/null || true
      sleep 0.1
    done
  fi
}

# stop_hosts HOST...: stop_host on each, all at once (each waits on its own namespace only).
stop_hosts() {
  local host pids=()
  for host in "$@"; do
    stop_host "$host" quiet &
    pids+=("$!")
  done
  for host in "${pids[@]}"; do wait "$host" || true; done
  (($# == 0)) || log "stopped $# hosts"
}

# sshd starts at boot; one that did not come up (a slow or failed boot step) gets one restart
# through the console before the host counts as broken.
wait_for_sshd() {
  local host=$1
  wait_until 30 "sshd on $host" check_ssh "$host" && return 0
  log "restarting sshd on $host through its console"
  host_exec "$host" service ssh restart </dev/null >&2 || true
  wait_until 30 "sshd on $host (after a restart)" check_ssh "$host"
}

# What an operator would look at when a host does not answer: its console, what runs in it,
# what listens in its namespace and whether it answers on the bridge. Never fails.
explain_host() {
  local host=$1 ns dir
  ns=$(host_netns "$host")
  dir=$(host_dir "$host")
  {
    echo "---- $host: console ($dir/console.log, last lines)"
    tail -n 20 "$dir/console.log" 2>/dev/null || echo "(no console log)"
    echo "---- $host: processes"
    host_exec "$host" ps -eo pid,user,args 2>&1 | head -n 20 || true
    echo "---- $host: listening TCP sockets and addresses in $ns"
    ip netns exec "$ns" ss -ltnp 2>&1 | head -n 10 || true
    ip -n "$ns" -brief addr 2>&1 || true
    echo "---- $host: ping from this machine"
    ping -c 1 -W 2 "$(host_addr "$host")" 2>&1 | tail -n 2 || true
    echo "---- $host: one ssh attempt, verbose"
    local opts
    mapfile -t opts < <(ssh_opts)
    ssh -v "${opts[@]}" "root@$(host_addr "$host")" true </dev/null 2>&1 | tail -n 15 || true
  } >&2
}
