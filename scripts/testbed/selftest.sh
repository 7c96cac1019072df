#!/usr/bin/env bash
# Checks a running test bed the way the runbooks will use it, and leaves it as it was.
#   testbed.sh up && selftest.sh      ends with "N passed, N failed"; exit 0 only if none failed
# shellcheck source-path=SCRIPTDIR disable=SC2016 # single quotes: run by the host's shell
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
# shellcheck source=prometheus.sh
source "$here/prometheus.sh"

passed=0
failed=0
check() {
  local what=$1
  shift
  local out
  if out=$("$@" 2>&1); then
    passed=$((passed + 1))
    printf 'ok    %s\n' "$what"
  else
    failed=$((failed + 1))
    printf 'FAIL  %s\n%s\n' "$what" "$(printf '%s\n' "$out" | tail -n 5 | sed 's/^/      /')"
  fi
}

hostname_is() { [[ "$(host_ssh "$1" hostname)" == "$1" ]]; }

isolated() {
  local marker="/root/testbed-isolation-$$"
  host_ssh web-blue "echo here >$marker"
  host_ssh web-blue "test -f $marker"
  if host_ssh web-green "test -e $marker"; then echo "visible on web-green"; return 1; fi
  if [[ -e "$marker" ]]; then echo "visible on this machine"; return 1; fi
  host_ssh web-blue "rm -f $marker"
}

unknown_key_refused() {
  # A known_hosts without the host's key must make the client refuse to connect.
  local empty
  empty=$(mktemp)
  if ssh -i "$TB_CACHE/ssh/id_ed25519" -o "UserKnownHostsFile=$empty" -o StrictHostKeyChecking=yes \
    -o BatchMode=yes -o ConnectTimeout=3 "root@$(host_addr fresh)" true 2>/dev/null; then
    rm -f "$empty"
    echo "connected without a known host key"
    return 1
  fi
  rm -f "$empty"
}

lb_serves_v1() {
  curl -fsS --max-time 5 "http://$(host_addr lb)/health" | grep -q '"version": "1.0.0"'
}

app_user_queries_db() {
  # The password stays in the host's .env: sourced there, never on a command line here.
  host_ssh web-blue '. /srv/app/.env && psql "$DATABASE_URL" -Atc "SELECT count(*) FROM items"' | grep -qx 3
}

superuser_on_db() {
  host_ssh db 'cd / && runuser -u postgres -- psql -Atc "SHOW is_superuser"' | grep -qx on
}

green_idle() {
  host_ssh web-green 'supervisorctl status app || true' | grep -q STOPPED
}

fresh_unprovisioned() {
  host_ssh fresh '! id app >/dev/null 2>&1 && ! pgrep -x supervisord >/dev/null && ! pgrep -x nginx >/dev/null && [ -z "$(nft list ruleset)" ]'
}

certbot_against_pebble() {
  # A throw-away certbot config dir, so the lb's own /etc/letsencrypt stays untouched.
  host_ssh lb 'set -e
    dir=$(mktemp -d)
    trap "rm -rf $dir" EXIT
    REQUESTS_CA_BUNDLE=/etc/ssl/pebble/ca.pem certbot certonly --non-interactive --agree-tos \
      --register-unsafely-without-email --server https://'"$TB_GATEWAY:$TB_PEBBLE_PORT"'/dir \
      --config-dir "$dir/config" --work-dir "$dir/work" --logs-dir "$dir/logs" \
      --webroot -w /var/www/letsencrypt -d selftest.local.test --cert-name selftest >/dev/null
    openssl x509 -in "$dir/config/live/selftest/cert.pem" -noout -checkend 0 -ext subjectAltName \
      | grep -q "DNS:selftest.local.test"'
}

https_answers() {
  echo | openssl s_client -connect "$(host_addr lb):443" -servername "$TB_DOMAIN" 2>/dev/null \
    | openssl x509 -noout -ext subjectAltName | grep -q "DNS:$TB_DOMAIN"
}

# Up in Prometheus's eyes: the target JOB/INSTANCE was scraped and answered (five seconds at most).
scraped() {
  local i
  for ((i = 0; i < 10; i++)); do
    curl -fsS --max-time 3 "$(prometheus_url)/api/v1/query" --data-urlencode "query=up{job=\"$1\",instance=\"$2\"}" \
      | grep >/dev/null '"value":\[[0-9.]*,"1"\]' && return 0
    sleep 0.5
  done
  echo "up{job=\"$1\",instance=\"$2\"} is not 1"
  return 1
}

web_blue_pages_counted() {
  curl -fsS --max-time 5 "http://$(host_addr web-blue):$TB_APP_PORT/metrics" | grep >/dev/null '^http_requests_total{method="GET",path="/health",status="200"}'
}

for host in $(host_names); do
  check "ssh root@$(host_addr "$host") with strict host key checking; hostname is $host" hostname_is "$host"
done
check "ssh refuses a host whose key is not in known_hosts" unknown_key_refused
check "a file written on web-blue is absent on web-green and on this machine" isolated
check "lb serves the app v1.0.0 on http://$(host_addr lb)/health" lb_serves_v1
check "lb answers TLS for $TB_DOMAIN on :443" https_answers
check "web-green has the app installed but stopped" green_idle
check "user app reaches database app on db with its .env" app_user_queries_db
check "root on db runs psql as the postgres superuser" superuser_on_db
check "fresh runs no app, supervisor, nginx or firewall" fresh_unprovisioned
check "web-blue's app counts its requests on /metrics" web_blue_pages_counted
check "Prometheus ($(prometheus_url)) scrapes the app on web-blue" scraped app web-blue
check "Prometheus scrapes the nginx exporter on lb" scraped lb lb
check "certbot on lb gets a certificate from Pebble (webroot through nginx :80)" certbot_against_pebble

printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
