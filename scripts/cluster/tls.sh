# The cluster's identities: a CA of its own (openssl) and the certificates it signs. The server
# (cluster/server) gives each client the role its certificate's OU names: worker (the engine),
# operator (people, the Web UI), admin; the server's own system worker is `system`. The services
# talk to each other under a second CA that signs nothing else, so no client certificate opens
# the history or matching ports. Private keys are 0600. Sourced by cluster.sh, not run.

tls_dir="$state_dir/tls"
# The name clients check the frontend's certificate against (TEMPORAL_TLS_SERVER_NAME).
TLS_SERVER_NAME=localhost
TLS_DAYS=365
# The identities `env --as` offers, and the certificate each is.
CLIENT_ROLES="worker operator admin"

# name, CA name, subject, extension lines: a key and a certificate signed by that CA, unless one
# is there that still has 30 days to run.
issue() {
  local name=$1 ca=$2 subject=$3 ext=$4
  local key="$tls_dir/$name.key" cert="$tls_dir/$name.pem"
  if [[ -s "$key" && -s "$cert" ]] && openssl x509 -checkend $((30 * 86400)) -noout -in "$cert" >/dev/null 2>&1 &&
    openssl verify -CAfile "$tls_dir/$ca.pem" "$cert" >/dev/null 2>&1; then
    return 0
  fi
  (umask 077; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$key" 2>/dev/null)
  printf '%b\n' "$ext" >"$tls_dir/$name.ext"
  openssl req -new -key "$key" -subj "$subject" -out "$tls_dir/$name.csr" 2>/dev/null
  openssl x509 -req -in "$tls_dir/$name.csr" -CA "$tls_dir/$ca.pem" -CAkey "$tls_dir/$ca.key" -CAcreateserial \
    -days "$TLS_DAYS" -sha256 -extfile "$tls_dir/$name.ext" -out "$cert" 2>/dev/null
  rm -f "$tls_dir/$name.csr" "$tls_dir/$name.ext"
  chmod 600 "$key"
  chmod 644 "$cert"
}

make_ca() { # name, subject
  local key="$tls_dir/$1.key" cert="$tls_dir/$1.pem"
  if [[ -s "$key" && -s "$cert" ]] && openssl x509 -checkend $((60 * 86400)) -noout -in "$cert" >/dev/null 2>&1; then
    return 0
  fi
  phase "making the cluster's certificate authority $1 in $tls_dir"
  (umask 077; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$key" 2>/dev/null)
  openssl req -x509 -new -key "$key" -subj "$2" -days $((TLS_DAYS * 3)) -sha256 -out "$cert" \
    -addext "basicConstraints=critical,CA:true,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  chmod 600 "$key"
  chmod 644 "$cert"
  # Everything the old CA signed is void now.
  rm -f "$tls_dir"/*.srl
}

client_ext() { echo "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth"; }

ensure_tls() {
  command -v openssl >/dev/null || { echo "the cluster's certificates need openssl (apt-get install openssl)" >&2; return 1; }
  mkdir -p "$tls_dir"
  chmod 700 "$tls_dir"
  local before
  before=$( (cat "$tls_dir"/ca.pem "$tls_dir"/internode-ca.pem 2>/dev/null || true) | sha256sum)
  make_ca ca "/O=runbook cluster/CN=runbook cluster CA"
  make_ca internode-ca "/O=runbook cluster/CN=runbook cluster internode CA"
  # A new CA voids every certificate of the old one.
  if [[ "$before" != "$(cat "$tls_dir"/ca.pem "$tls_dir"/internode-ca.pem | sha256sum)" ]]; then
    find "$tls_dir" -maxdepth 1 -name '*.pem' ! -name 'ca.pem' ! -name 'internode-ca.pem' -delete
  fi
  issue frontend ca "/O=runbook cluster/CN=$TLS_SERVER_NAME" \
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:$TLS_SERVER_NAME,IP:127.0.0.1"
  issue internode internode-ca "/O=runbook cluster/CN=internode" \
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:internode,IP:127.0.0.1"
  issue system ca "/O=runbook cluster/OU=system/CN=temporal-system-worker" "$(client_ext)"
  issue web-ui ca "/O=runbook cluster/OU=operator/CN=runbook-web-ui" "$(client_ext)"
  local r
  for r in $CLIENT_ROLES; do issue "$r" ca "/O=runbook cluster/OU=$r/CN=runbook-$r" "$(client_ext)"; done
}

# The variables that make the worker, the runbook CLI and the Temporal CLI connect as `role`.
tls_env() {
  local role=$1
  echo "TEMPORAL_TLS_CLIENT_CERT_PATH=$tls_dir/$role.pem TEMPORAL_TLS_CLIENT_KEY_PATH=$tls_dir/$role.key" \
    "TEMPORAL_TLS_SERVER_CA_CERT_PATH=$tls_dir/ca.pem TEMPORAL_TLS_SERVER_NAME=$TLS_SERVER_NAME"
}

# The Temporal CLI's flags for the same.
tls_flags() {
  local role=$1
  echo "--tls-cert-path $tls_dir/$role.pem --tls-key-path $tls_dir/$role.key" \
    "--tls-ca-path $tls_dir/ca.pem --tls-server-name $TLS_SERVER_NAME"
}
