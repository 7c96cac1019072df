#!/usr/bin/env bash
# The blue/green deploy's steps as a plain shell script over ssh (ControlMaster), for the
# deploy benchmark's baseline. Usage: deploy-plain.sh KEY KNOWN_HOSTS IDLE_ADDR LIVE_ADDR LB_ADDR REF
set -euo pipefail
key=$1 known=$2 idle=$3 live=$4 lb=$5 ref=$6
cm=$(mktemp -d)
trap 'for h in "$idle" "$live" "$lb"; do ssh -o ControlPath="$cm/%h" -O exit "root@$h" 2>/dev/null || true; done; rm -rf "$cm"' EXIT
on() { local host=$1; shift; ssh -i "$key" -o UserKnownHostsFile="$known" -o StrictHostKeyChecking=yes -o BatchMode=yes \
  -o ControlMaster=auto -o ControlPath="$cm/%h" -o ControlPersist=60 "root@$host" "$@"; }
git_app='git -c safe.directory=/srv/app -C /srv/app'
on "$idle" "$git_app fetch --quiet --tags --force origin"
commit=$(on "$idle" "$git_app rev-parse --verify '$ref^{commit}'")
on "$idle" "$git_app checkout --quiet --detach $commit && cd /srv/app && ./migrate --phase expand >/dev/null"
on "$idle" "supervisorctl restart app >/dev/null"
until on "$idle" "curl -sf http://127.0.0.1:8000/health" | grep -q "$commit"; do sleep 0.5; done
printf 'upstream app_backend {\n    server %s:8000;\n}\n' "$idle" | on "$lb" 'cat > /etc/nginx/conf.d/upstream.conf.new && mv -f /etc/nginx/conf.d/upstream.conf.new /etc/nginx/conf.d/upstream.conf && nginx -t 2>/dev/null && nginx -s reload'
until on "$lb" "curl -sf http://127.0.0.1/health" | grep -q "$commit"; do sleep 0.1; done
on "$live" "supervisorctl stop app >/dev/null || true"
