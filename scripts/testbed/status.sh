# shellcheck shell=bash
# What "up" means, checked from this machine the way the runbooks will reach things.

check_ssh() { host_ssh "$1" true </dev/null; }
check_postgres() { host_exec "$1" pg_isready -q -h "$(host_addr "$1")" -p 5432 </dev/null; }
check_lb_http() { curl -fsS --max-time 3 "http://$(host_addr "$1")/health" >/dev/null; }
check_lb_https() {
  curl -sS --max-time 3 -k -o /dev/null --resolve "$TB_DOMAIN:443:$(host_addr "$1")" "https://$TB_DOMAIN/health"
}
check_nginx_exporter() { curl -fsS --max-time 3 "http://$(host_addr "$1"):$TB_NGINX_EXPORTER_PORT/metrics" | grep >/dev/null '^nginx_up 1'; }
check_app() { curl -fsS --max-time 3 "http://$(host_addr "$1"):$TB_APP_PORT/health" >/dev/null; }

# name|command...|required: the checks `up` waits for and `status` reports.
required_checks() {
  local host
  echo "service pebble (https://$TB_GATEWAY:$TB_PEBBLE_PORT/dir)|pebble_answers"
  echo "service git daemon (git://$TB_GATEWAY/sample-app.git)|tcp_open $TB_GATEWAY $TB_GIT_PORT"
  echo "service apt repository (http://$TB_GATEWAY:$TB_APT_PORT)|tcp_open $TB_GATEWAY $TB_APT_PORT"
  echo "service dns (pebble-challtestsrv $TB_GATEWAY:$TB_DNS_PORT)|pid_alive $TB_STATE/pids/challtestsrv.pid pebble-challtestsrv"
  echo "service prometheus ($(prometheus_url))|prometheus_answers"
  for host in $(host_names); do
    echo "host $host sshd ($(host_addr "$host"):22)|check_ssh $host"
  done
  for host in $(host_by_role db); do echo "host $host postgresql (:5432)|check_postgres $host"; done
  for host in $(host_by_role lb); do
    echo "host $host nginx app through lb (http://$(host_addr "$host")/health)|check_lb_http $host"
    echo "host $host nginx https (:443)|check_lb_https $host"
    echo "host $host nginx exporter (:$TB_NGINX_EXPORTER_PORT/metrics)|check_nginx_exporter $host"
  done
}

run_check() {
  local spec=$1 cmd
  read -r -a cmd <<<"${spec#*|}"
  "${cmd[@]}" >/dev/null 2>&1
}

# Every check waited for at once: a fleet's sshds are asked together, not one after another.
wait_for_services() {
  local spec pids=() failed=0 pid
  while IFS= read -r spec; do
    wait_until 60 "${spec%%|*}" run_check "$spec" &
    pids+=("$!")
  done < <(required_checks)
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  return "$failed"
}

print_status() {
  local spec host failed=0 state
  for host in $(host_names); do
    if host_running "$host"; then state=up; else state=down; failed=1; fi
    printf '%-5s host %s (%s, roles %s)\n' "$state" "$host" "$(host_addr "$host")" "$(host_roles "$host")"
  done
  while IFS= read -r spec; do
    if run_check "$spec"; then state=up; else state=down; failed=1; fi
    printf '%-5s %s\n' "$state" "${spec%%|*}"
  done < <(required_checks)
  # The app on each web host is reported, not required: one colour is idle by design.
  for host in $(host_by_role web); do
    if check_app "$host" 2>/dev/null; then state=up; else state=down; fi
    printf '%-5s app on %s (%s colour, not required)\n' "$state" "$host" "$(host_colour "$host")"
  done
  return "$failed"
}
