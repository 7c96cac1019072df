# shellcheck shell=bash
# The test network: a bridge on this machine, and one network namespace per host joined
# to it by a veth pair. Hosts get no default route, so nothing they do leaves the bridge.

ensure_network() {
  if ! ip link show "$TB_BRIDGE" >/dev/null 2>&1; then
    log "creating bridge $TB_BRIDGE ($TB_GATEWAY/$TB_NETMASK)"
    ip link add "$TB_BRIDGE" type bridge
  fi
  if ! ip -4 addr show dev "$TB_BRIDGE" | grep -qF "inet $TB_GATEWAY/$TB_NETMASK"; then
    ip addr add "$TB_GATEWAY/$TB_NETMASK" dev "$TB_BRIDGE"
  fi
  ip link set "$TB_BRIDGE" up
  local host
  for host in $(host_names); do
    ensure_host_network "$host"
  done
}

ensure_host_network() {
  local host=$1 ns veth addr
  ns=$(host_netns "$host")
  veth=$(host_veth "$host")
  addr=$(host_addr "$host")
  if [[ ! -e "/run/netns/$ns" ]]; then
    ip netns add "$ns"
  fi
  if ! ip link show "$veth" >/dev/null 2>&1; then
    ip link add "$veth" type veth peer name eth0 netns "$ns"
  fi
  ip link set "$veth" master "$TB_BRIDGE" up
  ip -n "$ns" link set lo up
  if ! ip -n "$ns" -4 addr show dev eth0 | grep -qF "inet $addr/$TB_NETMASK"; then
    ip -n "$ns" addr add "$addr/$TB_NETMASK" dev eth0
  fi
  ip -n "$ns" link set eth0 up
}

teardown_network() {
  local host ns veth
  for host in $(host_names); do
    ns=$(host_netns "$host")
    veth=$(host_veth "$host")
    if [[ -e "/run/netns/$ns" ]]; then ip netns del "$ns"; fi
    # Normally gone with its namespace; a half-made pair may remain.
    ip link del "$veth" >/dev/null 2>&1 || true
  done
  if ip link show "$TB_BRIDGE" >/dev/null 2>&1; then
    ip link del "$TB_BRIDGE"
    log "removed bridge $TB_BRIDGE and the hosts' namespaces"
  fi
}
