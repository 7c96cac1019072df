# shellcheck shell=bash
# ACME on this machine: Pebble on the bridge address, with pebble-challtestsrv as the DNS
# it validates through (every name answers with lb's address).

TB_PEBBLE_DIR="$TB_CACHE/pebble"

ensure_pebble_pki() {
  # Pebble ships no certificate for its own HTTPS listener: a CA of ours signs one, and
  # certbot trusts that CA through REQUESTS_CA_BUNDLE.
  local dir=$TB_PEBBLE_DIR
  mkdir -p "$dir"
  chmod 0700 "$dir"
  if [[ ! -s "$dir/ca.pem" || ! -s "$dir/ca.key" ]]; then
    log "generating the CA for Pebble's HTTPS listener"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
      -subj "/CN=runbook testbed Pebble listener CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
    rm -f "$dir/server.pem"
  fi
  chmod 0644 "$dir/ca.pem"
  if [[ ! -s "$dir/server.pem" || ! -s "$dir/server.key" ]]; then
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$TB_GATEWAY" \
      -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
      "extendedKeyUsage=serverAuth" "subjectAltName=IP:$TB_GATEWAY,IP:127.0.0.1,DNS:localhost" \
      >"$dir/server.ext"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
      -CAcreateserial -days 825 -extfile "$dir/server.ext" -out "$dir/server.pem" 2>/dev/null
    rm -f "$dir/server.csr" "$dir/server.ext"
  fi
}

pebble_config() {
  cat <<EOF2
{
  "pebble": {
    "listenAddress": "$TB_GATEWAY:$TB_PEBBLE_PORT",
    "managementListenAddress": "$TB_GATEWAY:$TB_PEBBLE_MGMT_PORT",
    "certificate": "$TB_PEBBLE_DIR/server.pem",
    "privateKey": "$TB_PEBBLE_DIR/server.key",
    "httpPort": 80,
    "tlsPort": 443,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false,
    "certificateValidityPeriod": $TB_CERT_VALIDITY
  }
}
EOF2
}

ensure_pebble() {
  local state="$TB_STATE/pebble" config
  mkdir -p "$state"
  if ! pid_alive "$TB_STATE/pids/challtestsrv.pid" pebble-challtestsrv; then
    log "starting pebble-challtestsrv (DNS on $TB_GATEWAY:$TB_DNS_PORT, every name -> lb)"
    # Only the DNS and the management API, both on the bridge address: its challenge
    # servers would otherwise listen on every address of the machine.
    start_daemon challtestsrv pebble-challtestsrv \
      -dns01 "$TB_GATEWAY:$TB_DNS_PORT" -http01 "" -https01 "" -tlsalpn01 "" \
      -management "$TB_GATEWAY:$TB_CHALLTESTSRV_MGMT_PORT" \
      -defaultIPv4 "$(host_addr lb)" -defaultIPv6 ""
  fi
  config=$(pebble_config)
  # A changed validity period (TESTBED_CERT_VALIDITY) needs a restart; Pebble keeps no state.
  if pid_alive "$TB_STATE/pids/pebble.pid" "pebble -config" \
    && [[ "$(cat "$state/config.json" 2>/dev/null)" != "$config" ]]; then
    stop_pidfile "$TB_STATE/pids/pebble.pid" "pebble -config" pebble
  fi
  if ! pid_alive "$TB_STATE/pids/pebble.pid" "pebble -config"; then
    printf '%s\n' "$config" >"$state/config.json"
    log "starting pebble (https://$TB_GATEWAY:$TB_PEBBLE_PORT/dir, certificates valid ${TB_CERT_VALIDITY}s)"
    # NOSLEEP: validate at once; NONCEREJECT=0: no random badNonce errors to retry.
    start_daemon pebble env PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
      pebble -config "$state/config.json" -dnsserver "$TB_GATEWAY:$TB_DNS_PORT"
    rm -f "$state/issuer-root.pem"
  fi
}

pebble_answers() {
  curl -fsS --max-time 3 --cacert "$TB_PEBBLE_DIR/ca.pem" "https://$TB_GATEWAY:$TB_PEBBLE_PORT/dir" >/dev/null
}

# The root Pebble signs with is new at every start: saved for tests that check a chain.
save_pebble_roots() {
  local state="$TB_STATE/pebble"
  [[ -s "$state/issuer-root.pem" ]] && return 0
  curl -fsS --max-time 3 --cacert "$TB_PEBBLE_DIR/ca.pem" \
    "https://$TB_GATEWAY:$TB_PEBBLE_MGMT_PORT/roots/0" -o "$state/issuer-root.pem.new" \
    && mv -f "$state/issuer-root.pem.new" "$state/issuer-root.pem"
}

stop_pebble() {
  stop_pidfile "$TB_STATE/pids/pebble.pid" "pebble -config" pebble
  stop_pidfile "$TB_STATE/pids/challtestsrv.pid" pebble-challtestsrv pebble-challtestsrv
}
