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
  for host in $(host_in_group_by_role bed web); do
    if ! host_set_up "$host"; then
      local start=no
      [[ "$(host_colour "$host")" == blue ]] && start=yes
      log "setting up the app on $host (v1.0.0, $([[ $start == yes ]] && echo running || echo idle))"
      app_env_file app | host_exec "$host" testbed-setup-app "git://$TB_GATEWAY/sample-app.git" v1.0.0 "$start" \
        || die "app setup failed on $host"
      mark_set_up "$host"
    fi
  done
  for host in $(host_in_group_by_role bed lb); do
    if ! host_set_up "$host"; then
      local blue
      blue=$(first_host_of_colour blue)
      log "setting up nginx on $host (upstream $blue, self-signed certificate for $TB_DOMAIN)"
      host_exec "$host" testbed-setup-lb "$TB_DOMAIN" "$(((TB_CERT_VALIDITY + 86399) / 86400))" \
        "$(host_addr "$blue"):$TB_APP_PORT" "$blue" || die "nginx setup failed on $host"
      mark_set_up "$host"
    fi
  done
  setup_fleet
}

# The fleet's hosts are set up in parallel (a fleet of 20 in seconds, not a minute): each web
# host runs v1.0.0 on the fleet's own database; lb-fleet lists them all. The upstream is
# rewritten only when the fleet's size changed (recorded in lb-fleet), never on an `up` while
# up, so what a rolling deploy drained stays drained.
setup_fleet() {
  local size host failed=0 db pids=()
  size=$(fleet_recorded_size)
  ((size > 0)) || return 0
  db=$(host_by_role db | head -n1)
  if ! host_exec "$db" test -e "/var/lib/testbed/fleet-database"; then
    log "creating the fleet's database $TB_FLEET_DATABASE on $db"
    # shellcheck disable=SC2016 # expanded by the host's sh
    host_exec "$db" sh -c 'cd / && runuser -u postgres -- dropdb --if-exists "$1" && runuser -u postgres -- createdb -O app "$1" \
      && mkdir -p /var/lib/testbed && touch /var/lib/testbed/fleet-database' _ "$TB_FLEET_DATABASE" \
      || die "could not create the fleet's database on $db"
  fi
  local todo=()
  for host in $(host_in_group_by_role fleet web); do
    host_set_up "$host" || todo+=("$host")
  done
  if ((${#todo[@]})); then
    log "setting up the app on ${#todo[@]} fleet hosts in parallel (v1.0.0, running)"
    for host in "${todo[@]}"; do
      (app_env_file "$TB_FLEET_DATABASE" \
        | host_exec "$host" testbed-setup-app "git://$TB_GATEWAY/sample-app.git" v1.0.0 yes no \
        >>"$(host_dir "$host")/console.log" 2>&1 && mark_set_up "$host") &
      pids+=($!)
    done
    for i in "${!pids[@]}"; do
      wait "${pids[$i]}" || { log "app setup failed on ${todo[$i]}"; failed=1; }
    done
    ((failed == 0)) || die "app setup failed on some fleet hosts (see their console.log)"
    # The hosts share the fleet's database: migrated once (the apps answer healthy from then on).
    # shellcheck disable=SC2016 # expanded by the host's sh
    host_exec "${todo[0]}" sh -c 'cd /srv/app && PYTHONDONTWRITEBYTECODE=1 ./migrate' \
      >>"$(host_dir "${todo[0]}")/console.log" 2>&1 || die "the fleet's migration failed on ${todo[0]}"
  fi
  local lb upstreams=()
  lb=$(host_in_group_by_role fleet lb | head -n1)
  if [[ "$(host_exec "$lb" cat /var/lib/testbed/fleet-size 2>/dev/null || true)" != "$size" ]]; then
    for host in $(host_in_group_by_role fleet web); do upstreams+=("$(host_addr "$host"):$TB_APP_PORT" "$host"); done
    log "setting up nginx on $lb (upstream: the $size fleet hosts, in an nginx of its own)"
    host_exec "$lb" testbed-setup-lb --split "$TB_DOMAIN" "$(((TB_CERT_VALIDITY + 86399) / 86400))" "${upstreams[@]}" \
      || die "nginx setup failed on $lb"
    # shellcheck disable=SC2016 # expanded by the host's sh
    host_exec "$lb" sh -c 'mkdir -p /var/lib/testbed && echo "$1" >/var/lib/testbed/fleet-size' _ "$size"
    mark_set_up "$lb"
  fi
}

first_host_of_colour() {
  local host
  for host in $(host_in_group_by_role bed web); do
    if [[ "$(host_colour "$host")" == "$1" ]]; then echo "$host"; return 0; fi
  done
  die "no web host of colour $1"
}

# app_env_file DATABASE: the app's .env, for the bed's database (app) or the fleet's.
app_env_file() {
  local db
  db=$(host_by_role db | head -n1)
  printf '# Written by the test bed; mode 0600, owner app.\n'
  printf 'DATABASE_URL=postgresql://app:%s@%s:5432/%s\n' "$(<"$TB_CACHE/secrets/db-password")" "$(host_addr "$db")" "$1"
  printf 'APP_PORT=%s\n' "$TB_APP_PORT"
}
