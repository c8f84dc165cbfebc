#!/usr/bin/env bash
# deps.sh -- install, from Debian's packages and npm, what building, running and testing Glance needs.
# Idempotent: it installs only what is missing. Needs root (or sudo) on Debian 12.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libh2o-evloop-dev libhiredis-dev libmsgpack-dev libwslay-dev libssl-dev
  redis-server redis-tools haproxy curl
  nodejs npm
)
if [[ "${GLANCE_DEPS_BROWSER:-0}" == 1 ]]; then
  packages+=(chromium)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Debian starts redis-server and haproxy as services on install; ours run on their own ports, so
# those are left as the system has them.
