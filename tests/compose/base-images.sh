#!/usr/bin/env bash
# base-images.sh -- makes debian:12 and debian:12-slim in the Docker engine that DOCKER_HOST names, from
# Debian's mirror (no image registry is reachable here): one debootstrap, shaped like the official images,
# imported twice. Only the missing tags are made. Usage: base-images.sh WORKDIR (scratch space, emptied).
set -euo pipefail
work=${1:?usage: base-images.sh WORKDIR}
docker=${DOCKER:-/usr/bin/docker}
: "${DOCKER_HOST:?DOCKER_HOST must name the engine of the suite}"

have() { "$docker" image inspect "$1" >/dev/null 2>&1; }
if have debian:12 && have debian:12-slim; then exit 0; fi

# the mirrors this machine's apt already uses (deb822 .sources or one-line sources.list), so the images
# fetch from where this machine is known to reach
mirror_for() { # mirror_for SUITE -> the first URI that serves it
  local suite=$1 f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -e $f ]] || continue
    awk -v s="$suite" '
      /^[ \t]*$/ { if (ok && uri) { print uri; exit } ok = 0; uri = ""; next }
      /^URIs:/ { uri = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) ok = 1 }
      END { if (ok && uri) print uri }' "$f"
  done
  [[ -e /etc/apt/sources.list ]] &&
    awk -v s="$suite" '$1 == "deb" { u = ($2 ~ /^\[/) ? $3 : $2; d = ($2 ~ /^\[/) ? $4 : $3; if (d == s) print u }' /etc/apt/sources.list
  true
}
main=$(mirror_for bookworm | head -n1)
security=$(mirror_for bookworm-security | head -n1)
main=${main:-http://deb.debian.org/debian}
security=${security:-http://deb.debian.org/debian-security}

rm -rf "$work"
mkdir -p "$work"
root=$work/root
debootstrap --variant=minbase bookworm "$root" "$main" >"$work/debootstrap.log" 2>&1 ||
  { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }

# -- what both images share ------------------------------------------------------------------------------
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $main
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES

# a container is thrown away: apt need not keep the .debs it installed nor its binary caches
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'APT'
// written by glance tests/compose/base-images.sh: an image keeps no package caches
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
printf 'Acquire::Languages "none";\n' >"$root/etc/apt/apt.conf.d/docker-no-languages"
printf 'APT::AutoRemove::SuggestsImportant "false";\n' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"

# services must not start inside a build (the official images ship the same answer)
printf '#!/bin/sh\n# no service starts inside an image build\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

# Docker supplies these at run time
: >"$root/etc/resolv.conf"
: >"$root/etc/hostname"

rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
  "$root"/var/cache/apt/archives/partial/* "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old \
  "$root"/var/log/apt/* "$root"/var/log/dpkg.log "$root"/var/log/bootstrap.log "$root"/tmp/* "$root"/root/.bash_history
mkdir -p "$root/var/lib/apt/lists/partial"

import() { # import TAG: the root as it is now
  tar -C "$root" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -c . |
    "$docker" import --change 'CMD ["bash"]' - "$1" >/dev/null
}
have debian:12 || import debian:12

# -- slim: no documentation, manuals or translations, now or for packages installed later -----------------
cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
# written by glance tests/compose/base-images.sh: a slim image keeps copyright files and locale.alias only
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
DPKG
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
rm -rf "$root"/usr/share/man/* "$root"/usr/share/groff/* "$root"/usr/share/info/* "$root"/usr/share/lintian/* \
  "$root"/usr/share/linda/*
have debian:12-slim || import debian:12-slim

rm -rf "$work"
