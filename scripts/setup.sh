#!/usr/bin/env bash
# Installs what Sluice needs on a fresh Debian machine. Idempotent: safe to run again.
# - Debian packages: iptables, iproute2, haproxy, etcd-server (+client), chromium, mariadb client
# - kubectl v1.20 (Debian kubernetes-client), unpacked into .cache/kubectl, never installed
# - npm dependencies (npm ci, builds native addons with node-gyp)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

say() { printf '[setup] %s\n' "$*"; }

need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1; }
have iptables-restore || need_pkgs+=(iptables)
have ip || need_pkgs+=(iproute2)
have haproxy || need_pkgs+=(haproxy)
have etcd || need_pkgs+=(etcd-server)
have etcdctl || need_pkgs+=(etcd-client)
have chromium || need_pkgs+=(chromium)
have mariadb || need_pkgs+=(mariadb-client)
have mariadbd || [ -x /usr/sbin/mariadbd ] || need_pkgs+=(mariadb-server)
have dig || need_pkgs+=(dnsutils)
have curl || need_pkgs+=(curl)

if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    say "missing Debian packages: ${need_pkgs[*]} — run this script as root (or: sudo apt-get install ${need_pkgs[*]})"
    exit 1
  fi
  say "installing Debian packages: ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps package scripts from starting services (haproxy, etcd) on install
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

# kubectl 1.20 from Debian's kubernetes-client, unpacked into the project cache.
kdir="$root/.cache/kubectl"
if [ ! -x "$kdir/usr/bin/kubectl" ]; then
  say "fetching kubectl 1.20 (Debian kubernetes-client) into .cache/kubectl"
  mkdir -p "$kdir/deb"
  [ -n "$(ls /var/lib/apt/lists/*Packages* 2>/dev/null | head -1)" ] || apt-get update -qq
  (cd "$kdir/deb" && apt-get download -qq kubernetes-client >/dev/null)
  dpkg-deb -x "$kdir"/deb/kubernetes-client_*.deb "$kdir"
fi

# npm dependencies (compiles better-sqlite3 and Sluice's own native addon).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi
say "ready"
