#!/bin/bash
# PID 1 of a new test-bed host, already inside its own network, mount, PID, UTS and IPC
# namespaces (see start_host in hosts.sh): assembles the host's root filesystem, then
# becomes tini inside it. Every mount here dies with the host's mount namespace.
#   host-init.sh NAME LOWER UPPER WORK ROOT
set -euo pipefail
name=$1 lower=$2 upper=$3 work=$4 root=$5

hostname "$name"
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work" "$root"
mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$root/sys"
mount -t tmpfs -o mode=0755,nosuid,nodev,size=64m tmpfs "$root/run"

# A /dev of its own: the few devices services use, never the machine's disks.
mount -t tmpfs -o mode=0755,nosuid,size=1m tmpfs "$root/dev"
for spec in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
  IFS=: read -r dev major minor <<<"$spec"
  mknod -m 0666 "$root/dev/$dev" c "$major" "$minor"
done
mkdir -m 0755 "$root/dev/pts"
mkdir -m 1777 "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts "$root/dev/pts"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"
ln -s pts/ptmx "$root/dev/ptmx"
ln -s /proc/self/fd "$root/dev/fd"
ln -s /proc/self/fd/0 "$root/dev/stdin"
ln -s /proc/self/fd/1 "$root/dev/stdout"
ln -s /proc/self/fd/2 "$root/dev/stderr"

exec chroot "$root" /usr/bin/env -i \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
  /usr/bin/tini -- /usr/local/sbin/testbed-boot
