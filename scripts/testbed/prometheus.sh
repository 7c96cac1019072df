# shellcheck shell=bash
# Prometheus (Debian's package) on this machine, on the bridge address only: it scrapes the app's
# /metrics on every web host and the nginx exporter on every load balancer, each target named by
# its host (`instance="web-blue"`), every second on the bed's hosts (tests measure over seconds)
# and every 5 seconds on a fleet's. Its data lives in the state dir: `down` throws it away.

TB_PROMETHEUS_PORT=9090
TB_NGINX_EXPORTER_PORT=9113
TB_PROMETHEUS_DIR="$TB_STATE/prometheus"

prometheus_url() { echo "http://$TB_GATEWAY:$TB_PROMETHEUS_PORT"; }

# prometheus_targets GROUP ROLE PORT: a static_configs list, one target per host.
prometheus_targets() {
  local group=$1 role=$2 port=$3 host
  for host in $(host_in_group_by_role "$group" "$role"); do
    printf '      - targets: ["%s:%s"]\n        labels: { instance: %s, group: %s }\n' \
      "$(host_addr "$host")" "$port" "$host" "$group"
  done
}

# prometheus_job NAME INTERVAL GROUP ROLE PORT
prometheus_job() {
  local name=$1 interval=$2 group=$3 role=$4 port=$5 targets
  targets=$(prometheus_targets "$group" "$role" "$port")
  [[ -n "$targets" ]] || return 0
  printf '  - job_name: %s\n    scrape_interval: %s\n    scrape_timeout: %s\n    static_configs:\n%s\n' \
    "$name" "$interval" "$interval" "$targets"
}

prometheus_config() {
  echo "# Written by scripts/testbed/prometheus.sh at every \`up\`."
  echo 'global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 5s }'
  echo 'scrape_configs:'
  prometheus_job app 1s bed web "$TB_APP_PORT"
  prometheus_job lb 1s bed lb "$TB_NGINX_EXPORTER_PORT"
  prometheus_job fleet-app 5s fleet web "$TB_APP_PORT"
  prometheus_job fleet-lb 5s fleet lb "$TB_NGINX_EXPORTER_PORT"
}

ensure_prometheus() {
  local pidfile="$TB_STATE/pids/prometheus.pid" config="$TB_PROMETHEUS_DIR/prometheus.yml"
  mkdir -p "$TB_PROMETHEUS_DIR/data"
  prometheus_config >"$config.new"
  promtool check config "$config.new" >/dev/null || die "Prometheus config is invalid: $config.new"
  if pid_alive "$pidfile" /usr/bin/prometheus; then
    # A fleet added or removed: the running one reads its new targets on SIGHUP.
    if ! cmp -s "$config.new" "$config"; then
      mv -f "$config.new" "$config"
      log "reloading Prometheus (targets changed)"
      kill -HUP "$(<"$pidfile")"
    fi
    rm -f "$config.new"
    return 0
  fi
  mv -f "$config.new" "$config"
  log "starting Prometheus ($(prometheus_url))"
  start_daemon prometheus /usr/bin/prometheus --config.file="$config" \
    --storage.tsdb.path="$TB_PROMETHEUS_DIR/data" --storage.tsdb.retention.time=6h \
    --web.listen-address="$TB_GATEWAY:$TB_PROMETHEUS_PORT" --log.level=warn
}

prometheus_answers() { curl -fsS --max-time 3 "$(prometheus_url)/-/ready" >/dev/null; }

stop_prometheus() { stop_pidfile "$TB_STATE/pids/prometheus.pid" /usr/bin/prometheus prometheus; }
