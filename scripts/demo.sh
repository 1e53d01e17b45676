#!/usr/bin/env bash
# npm run demo: installs what a fresh machine lacks (scripts/setup.sh, idempotent), then runs the
# Bookinfo egress demo. Arguments go to `sluice demo` (--step, --keep, --once, --down, --port N).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "sluice demo needs root (network namespaces, veths, a bridge, iptables). Run: sudo npm run demo" >&2
  exit 2
fi
bash scripts/setup.sh
exec bin/sluice demo "$@"
