#!/usr/bin/env bash
# packages.sh -- installs what the compose suite needs from Debian (docker.io for dockerd, debootstrap for the
# base images, docker-compose 1.29) when missing, without letting any package start a Docker daemon.
# Prints nothing but apt's errors when everything is there already. Needs root.
set -euo pipefail

want=()
[[ -x /usr/sbin/dockerd && -x /usr/bin/docker ]] || want+=(docker.io)
command -v debootstrap >/dev/null || want+=(debootstrap)
command -v docker-compose >/dev/null || want+=(docker-compose)
((${#want[@]})) || exit 0

if [[ $(id -u) != 0 ]]; then
  echo "packages.sh: ${want[*]} missing and not root: install them first" >&2
  exit 1
fi

# docker.io's maintainer scripts start docker.service / docker.socket through invoke-rc.d, which asks
# policy-rc.d first; 101 means "not allowed". An existing policy is the machine's own: keep it as it is.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\n# glance tests/compose/packages.sh: no service starts during this install\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  own_policy=1
fi
remove_own_policy() {
  if ((own_policy)); then rm -f "$policy"; fi
}
trap remove_own_policy EXIT

# with systemd as init, a unit could still be started by socket activation or a later daemon-reload;
# mask them for the duration, so only the suite's own dockerd ever runs
masked=()
if [[ -d /run/systemd/system ]]; then
  for unit in docker.service docker.socket containerd.service; do
    if systemctl mask --runtime "$unit" >/dev/null 2>&1; then masked+=("$unit"); fi
  done
fi

daemons() { { pgrep -x dockerd; pgrep -x containerd; } | sort || true; }
before=$(daemons)
export DEBIAN_FRONTEND=noninteractive
apt=(apt-get -o DPkg::Lock::Timeout=300 -q)
# the package lists may be gone (an image that cleaned them): fetch them only then
if ! apt-cache show "${want[@]}" >/dev/null 2>&1; then "${apt[@]}" update >/dev/null; fi
"${apt[@]}" install -y --no-install-recommends "${want[@]}" >/dev/null 2> >(grep -v "^debconf: delaying" >&2)

for unit in "${masked[@]}"; do systemctl unmask --runtime "$unit" >/dev/null 2>&1 || true; done

after=$(daemons)
if [[ "$before" != "$after" ]]; then
  echo "packages.sh: the install started a daemon (pids before: ${before:-none}; after: ${after:-none})" >&2
  exit 1
fi
