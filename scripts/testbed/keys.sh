# shellcheck shell=bash
# Keys and secrets the test bed generates once and keeps in the cache, so that hosts
# torn down and brought up again keep their host keys and known_hosts stays valid.

ensure_keys() {
  local ssh_dir="$TB_CACHE/ssh" secrets="$TB_CACHE/secrets" host key
  mkdir -p "$ssh_dir/hostkeys" "$secrets"
  chmod 0700 "$ssh_dir" "$secrets"
  if [[ ! -s "$ssh_dir/id_ed25519" ]]; then
    log "generating the SSH client key"
    ssh-keygen -q -t ed25519 -N '' -C "runbook-testbed" -f "$ssh_dir/id_ed25519"
  fi
  for host in $(host_names); do
    key="$ssh_dir/hostkeys/$host"
    if [[ ! -s "$key" ]]; then
      ssh-keygen -q -t ed25519 -N '' -C "root@$host" -f "$key"
    fi
  done
  # Addresses only, one plain line per host: what the client connects to is what it checks.
  local known="$ssh_dir/known_hosts.new"
  : >"$known"
  for host in $(host_names); do
    printf '%s %s\n' "$(host_addr "$host")" "$(cut -d' ' -f1,2 "$ssh_dir/hostkeys/$host.pub")" >>"$known"
  done
  mv -f "$known" "$ssh_dir/known_hosts"
  if [[ ! -s "$secrets/db-password" ]]; then
    # Alphanumeric, so it goes into a URL or SQL literal without escaping.
    (umask 077 && openssl rand -hex 24 >"$secrets/db-password")
  fi
  chmod 0600 "$secrets/db-password"
}
