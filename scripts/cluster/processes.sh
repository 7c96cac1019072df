# The cluster's long-running processes (server, UI): started detached with a pid file and a log,
# found again by that pid file, stopped by that pid only. Sourced by cluster.sh, not run.

pid_file() { echo "$state_dir/$1.pid"; }

process_pid() { cat "$(pid_file "$1")" 2>/dev/null; }

# Alive and still the program we started (a pid can be reused after a reboot).
process_alive() {
  local pid exe
  pid=$(process_pid "$1") || return 1
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
  [[ "$exe" == "$bin_dir/"* ]]
}

start_process() { # name, log file, command...
  local name=$1 log=$2
  shift 2
  mkdir -p "$(dirname "$log")"
  phase "starting $name (log: $log)"
  # Its own session, so it outlives the shell that started it and a Ctrl-C there.
  echo "== $(date)" >>"$log"
  setsid "$@" >>"$log" 2>&1 </dev/null &
  echo $! >"$(pid_file "$name")"
}

stop_process() { # name: SIGTERM, up to 30 s for a graceful stop, then SIGKILL
  local name=$1 pid
  process_alive "$name" || { rm -f "$(pid_file "$name")"; return 0; }
  pid=$(process_pid "$name")
  phase "stopping $name (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  rm -f "$(pid_file "$name")"
}
