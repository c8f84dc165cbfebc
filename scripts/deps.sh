#!/usr/bin/env bash
# deps.sh -- install, from Debian's packages and npm, what building, running and testing Glance needs.
# Idempotent: it installs only what is missing. Needs root (or sudo) on Debian 12.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libh2o-evloop-dev libhiredis-dev libmsgpack-dev libwslay-dev libssl-dev libcurl4-openssl-dev libjansson-dev zlib1g-dev
  redis-server redis-tools haproxy curl
)
# What only the tests and benchmarks need (test.sh asks for it).
if [[ "${GLANCE_DEPS_TESTS:-0}" == 1 ]]; then
  packages+=(
    chromium
    shellcheck docker-compose python3-yaml iptables
    python3-aiohttp python3-discord wrk
    redis-sentinel clang libclang-rt-14-dev
    libxml2-utils prometheus-alertmanager prometheus
  )
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js may come from elsewhere than Debian (NodeSource's package bundles npm): ask for Debian's only
# when there is no node or no npm at all, so that an existing install is never replaced.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Debian starts redis-server, haproxy and prometheus-alertmanager as services on install (where it runs
# services); ours run on their own ports, so those are left as the system has them.
