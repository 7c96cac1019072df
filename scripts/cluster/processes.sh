# The cluster's long-running processes (server, UI): started detached with a pid file and a log,
# found again by that pid file, stopped by that pid only. The pid files are in the machine-wide
# run directory (common.sh), beside the executable each pid must be running, so a reused pid is
# never taken for ours. Sourced by cluster.sh, not run.

pid_file() { echo "$run_dir/$1.pid"; }
exe_file() { echo "$run_dir/$1.exe"; }

# Ours only: made by us, not a symlink, owner-only (it is in /tmp and says which pids to stop).
ensure_run_dir() {
  mkdir -p "$run_dir"
  if [[ -L "$run_dir" || ! -d "$run_dir" || ! -O "$run_dir" ]]; then
    echo "$run_dir is not a directory of this user's (RUNBOOK_CLUSTER_RUN_DIR moves it)" >&2
    return 1
  fi
  chmod 700 "$run_dir"
}

process_pid() { cat "$(pid_file "$1")" 2>/dev/null; }

# Alive and still the program we started: the executable recorded at its start, also when that
# file has been deleted since (a cache removed under the running cluster).
process_alive() {
  local pid exe want
  pid=$(process_pid "$1") || return 1
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  want=$(cat "$(exe_file "$1")" 2>/dev/null) || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
  [[ -n "$want" && ("$exe" == "$want" || "$exe" == "$want (deleted)") ]]
}

start_process() { # name, log file, command... (as the user $RUN_AS when set)
  local name=$1 log=$2
  shift 2
  mkdir -p "$(dirname "$log")"
  phase "starting $name${RUN_AS:+ as $RUN_AS} (log: $log)"
  readlink -f "$1" >"$(exe_file "$name")"
  local as=()
  # setpriv execs the program in its place (no parent left running as root), so the pid and
  # the executable recorded are the program's own.
  [[ -n "${RUN_AS:-}" ]] && as=(setpriv "--reuid=$RUN_AS" "--regid=$RUN_AS" --clear-groups --no-new-privs --)
  # Its own session, so it outlives the shell that started it and a Ctrl-C there; without the
  # run directory's lock (fd 8), which would otherwise stay held as long as it runs.
  echo "== $(date)" >>"$log"
  setsid "${as[@]}" "$@" >>"$log" 2>&1 </dev/null 8>&- &
  echo $! >"$(pid_file "$name")"
}

stop_process() { # name: SIGTERM, up to 30 s for a graceful stop, then SIGKILL
  local name=$1 pid
  if process_alive "$name"; then
    pid=$(process_pid "$name")
    phase "stopping $name (pid $pid)"
    signal_then "$pid" TERM 30 KILL
  fi
  rm -f "$(pid_file "$name")" "$(exe_file "$name")"
}
