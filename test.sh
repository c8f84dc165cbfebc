#!/usr/bin/env bash
# test.sh -- install what is missing, build, and run every test: C unit tests (CTest), the fuzz targets, then the
# Node suites against real redis-server and glance-api processes that the tests start on free loopback ports, against
# the release build and again against an ASan + UBSan build (tests/runner/passes.mjs runs those passes side by side).
# Ends with each phase's time, the 15 slowest test files and the runner's summary; exits non-zero on any failure.
# GLANCE_TEST_FUZZ=0, GLANCE_TEST_SANITIZE=0 and GLANCE_TEST_COMPOSE=0 leave out a part while iterating.
set -euo pipefail
cd "$(dirname "$0")"

export GLANCE_TEST_STARTED=${GLANCE_TEST_STARTED:-$(date +%s)}
out=tests/out/run
rm -rf "$out"
mkdir -p "$out"
phase_from=$(date +%s)
# phase NAME: the time since the last phase ended, kept for the closing table
phase() {
  local now
  now=$(date +%s)
  printf '%s\t%s\n' "$1" "$((now - phase_from))" >>"$out/phases.tsv"
  echo "test.sh: $1 took $((now - phase_from)) s"
  phase_from=$now
}

GLANCE_DEPS_TESTS=1 scripts/deps.sh
phase 'Debian packages'

# npm's download runs beside the compiler
npm ci --no-audit --no-fund --loglevel=error >"$out/npm.log" 2>&1 &
npm_pid=$!
scripts/build.sh
(cd build && ctest --output-on-failure)
if ! wait "$npm_pid"; then
  cat "$out/npm.log"
  exit 1
fi
phase 'npm ci, the release build and CTest'

if [[ "${GLANCE_TEST_SANITIZE:-1}" == 1 ]]; then
  GLANCE_BUILD_DIR=build-asan scripts/build.sh -DGLANCE_SANITIZE=ON
  phase 'the ASan + UBSan build'
fi

# The fuzz targets (each for a bounded time, against the committed corpus) and every Node suite: tests/runner/passes.mjs.
exec node tests/runner/passes.mjs "$out"
