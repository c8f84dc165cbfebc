#!/usr/bin/env bash
# build.sh -- configure and build glance-api and its tests into build/ (or $GLANCE_BUILD_DIR).
# Extra arguments go to cmake's configure step, e.g. -DGLANCE_SANITIZE=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${GLANCE_BUILD_DIR:-build}
werror=OFF
[[ -n "${CI:-}" ]] && werror=ON
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGLANCE_WERROR="$werror" "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
