# shellcheck shell=bash
# The hosts' shared, read-only Debian root: built once into the cache, then only reused.

TB_ROOTFS="$TB_CACHE/rootfs/base"
TB_APT_REPO="$TB_CACHE/apt"

# Everything any host may need, installed once: hosts have no route out, and a
# provision runbook on `fresh` then finds its packages already there (or in the local
# apt repository this machine serves, built from the same .debs).
TB_ROOTFS_PACKAGES=(
  openssh-server sudo python3 python3-psycopg2 git supervisor nginx
  postgresql postgresql-client certbot python3-certbot-nginx curl ca-certificates
  iptables nftables ufw fail2ban unattended-upgrades apt-listchanges procps tini
  iproute2 iputils-ping netcat-openbsd rsyslog openssl rsync less logrotate tzdata
  python3-prometheus-client prometheus-nginx-exporter
)
# Bump when the recipe below changes in a way the package list does not show.
TB_ROOTFS_RECIPE=3

rootfs_stamp() {
  printf '%s\n' "recipe=$TB_ROOTFS_RECIPE" "suite=$TB_SUITE" "${TB_ROOTFS_PACKAGES[@]}" | sha256sum | cut -c1-16
}

rootfs_ready() { [[ -f "$TB_ROOTFS/.testbed-stamp" && "$(<"$TB_ROOTFS/.testbed-stamp")" == "$(rootfs_stamp)" ]]; }

ensure_rootfs() {
  if rootfs_ready; then return 0; fi
  if [[ -d "$TB_ROOTFS" ]] && any_host_running; then
    die "the base root is out of date but hosts are running on it: run 'down' first"
  fi
  local started=$SECONDS work="$TB_CACHE/rootfs/base.build"
  log "building the hosts' Debian $TB_SUITE root (first time on this machine: a few minutes)"
  rm -rf "$work"
  mkdir -p "$work" "$TB_CACHE/rootfs/debs" "$TB_APT_REPO/pool"
  # The debootstrap cache and the pool of .debs make a rebuild fast and feed the local repo.
  log "debootstrap minbase -> $work"
  debootstrap --variant=minbase --cache-dir="$TB_CACHE/rootfs/debs" "$TB_SUITE" "$work" "$TB_MIRROR" \
    >"$TB_CACHE/rootfs/debootstrap.log" 2>&1 \
    || die "debootstrap failed, see $TB_CACHE/rootfs/debootstrap.log"
  rootfs_install_packages "$work"
  rootfs_finish "$work"
  rootfs_stamp >"$work/.testbed-stamp"
  rm -rf "$TB_ROOTFS"
  mv "$work" "$TB_ROOTFS"
  build_apt_repo
  log "base root ready ($(du -sh "$TB_ROOTFS" | cut -f1), $((SECONDS - started))s)"
}

rootfs_install_packages() {
  local root=$1
  # No daemon may start while packages install: they would listen on the machine itself.
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 0755 "$root/usr/sbin/policy-rc.d"
  # Each host creates its own cluster (only db does), so none ships in the shared root.
  mkdir -p "$root/etc/postgresql-common/createcluster.d"
  echo 'create_main_cluster = false' >"$root/etc/postgresql-common/createcluster.d/testbed.conf"
  cat >"$root/etc/apt/sources.list" <<EOF
deb $TB_MIRROR $TB_SUITE main
deb $TB_MIRROR $TB_SUITE-updates main
deb $TB_SECURITY_MIRROR $TB_SUITE-security main
EOF
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  mkdir -p "$root/var/cache/apt/archives"
  cp -n "$TB_APT_REPO/pool/"*.deb "$root/var/cache/apt/archives/" 2>/dev/null || true
  log "apt-get install ${#TB_ROOTFS_PACKAGES[@]} packages into the base root"
  # A private mount namespace takes proc away with it even if the install fails.
  # shellcheck disable=SC2016 # expanded by the inner bash
  unshare --mount --fork --propagation private bash -euo pipefail -c '
    root=$1; shift
    mount -t proc proc "$root/proc"
    mount --bind /dev "$root/dev"
    mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts"
    export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin
    chroot "$root" apt-get update -q
    chroot "$root" apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold "$@"
  ' _ "$root" "${TB_ROOTFS_PACKAGES[@]}" >"$TB_CACHE/rootfs/apt.log" 2>&1 \
    || die "package install failed, see $TB_CACHE/rootfs/apt.log"
}

rootfs_finish() {
  local root=$1
  # Keep the .debs for the local repository, outside the image.
  mv -f "$root/var/cache/apt/archives/"*.deb "$TB_APT_REPO/pool/" 2>/dev/null || true
  cp -n "$TB_CACHE/rootfs/debs/"*.deb "$TB_APT_REPO/pool/" 2>/dev/null || true
  rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin
  # Host keys made at install time would be shared by every host: each gets its own.
  rm -f "$root/etc/ssh/ssh_host_"*
  # Hosts reach packages only through this machine's bridge address.
  rm -f "$root/etc/apt/sources.list" "$root/etc/apt/sources.list.d/"*
  # No resolver is reachable from the hosts; failing fast beats a DNS timeout.
  : >"$root/etc/resolv.conf"
  rm -f "$root/usr/sbin/policy-rc.d"
  # Mount points for the per-host /dev, /proc and /sys.
  mkdir -p "$root/dev" "$root/proc" "$root/sys" "$root/run"
}

build_apt_repo() {
  # A flat repository (`deb [trusted=yes] http://BRIDGE:PORT ./`) of every .deb the root holds.
  (cd "$TB_APT_REPO" && dpkg-scanpackages --multiversion pool /dev/null 2>/dev/null >Packages.new) \
    || die "dpkg-scanpackages failed"
  gzip -9c "$TB_APT_REPO/Packages.new" >"$TB_APT_REPO/Packages.gz"
  mv -f "$TB_APT_REPO/Packages.new" "$TB_APT_REPO/Packages"
}

ensure_apt_server() {
  if pid_alive "$TB_STATE/pids/apt-repo.pid" "http.server"; then return 0; fi
  log "serving the local apt repository on http://$TB_GATEWAY:$TB_APT_PORT"
  start_daemon apt-repo /usr/bin/python3 -m http.server "$TB_APT_PORT" \
    --bind "$TB_GATEWAY" --directory "$TB_APT_REPO"
}

stop_apt_server() { stop_pidfile "$TB_STATE/pids/apt-repo.pid" "http.server" apt-repo; }
