# shellcheck shell=bash
# What each role's host gets on its first boot (PostgreSQL database, the app on blue,
# nginx on lb). Done once per host lifetime, recorded inside the host, so an `up` while
# up never undoes what a runbook changed (a switch to green, a stopped app...).

TB_SETUP_MARKER=/var/lib/testbed/setup-done

host_set_up() { host_exec "$1" test -e "$TB_SETUP_MARKER"; }
# shellcheck disable=SC2016 # expanded by the host's sh
mark_set_up() { host_exec "$1" sh -c 'mkdir -p "${0%/*}" && date -u +%FT%TZ >"$0"' "$TB_SETUP_MARKER"; }

setup_roles() {
  local host
  for host in $(host_by_role db); do
    if ! host_set_up "$host"; then
      log "setting up PostgreSQL on $host (database app, user app)"
      host_exec "$host" testbed-setup-db "$(host_addr "$host")" "$TB_SUBNET_PREFIX.0/$TB_NETMASK" \
        <"$TB_CACHE/secrets/db-password" || die "database setup failed on $host"
      mark_set_up "$host"
    fi
  done
  for host in $(host_by_role web); do
    if ! host_set_up "$host"; then
      local start=no
      [[ "$(host_colour "$host")" == blue ]] && start=yes
      log "setting up the app on $host (v1.0.0, $([[ $start == yes ]] && echo running || echo idle))"
      app_env_file | host_exec "$host" testbed-setup-app "git://$TB_GATEWAY/sample-app.git" v1.0.0 "$start" \
        || die "app setup failed on $host"
      mark_set_up "$host"
    fi
  done
  for host in $(host_by_role lb); do
    if ! host_set_up "$host"; then
      local blue
      blue=$(first_host_of_colour blue)
      log "setting up nginx on $host (upstream $blue, self-signed certificate for $TB_DOMAIN)"
      host_exec "$host" testbed-setup-lb "$TB_DOMAIN" "$(host_addr "$blue"):$TB_APP_PORT" "$blue" \
        "$(((TB_CERT_VALIDITY + 86399) / 86400))" || die "nginx setup failed on $host"
      mark_set_up "$host"
    fi
  done
}

first_host_of_colour() {
  local host
  for host in $(host_by_role web); do
    if [[ "$(host_colour "$host")" == "$1" ]]; then echo "$host"; return 0; fi
  done
  die "no web host of colour $1"
}

app_env_file() {
  local db
  db=$(host_by_role db | head -n1)
  printf '# Written by the test bed; mode 0600, owner app.\n'
  printf 'DATABASE_URL=postgresql://app:%s@%s:5432/app\n' "$(<"$TB_CACHE/secrets/db-password")" "$(host_addr "$db")"
  printf 'APP_PORT=%s\n' "$TB_APP_PORT"
}
