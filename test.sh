#!/usr/bin/env bash
# test.sh -- install what is missing, build, and run every test: C unit tests (CTest), then the Node
# suites against real redis-server and glance-api processes that the tests start on free loopback ports.
# Ends with the Node test runner's summary; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"

GLANCE_DEPS_TESTS=1 scripts/deps.sh
scripts/build.sh
(cd build && ctest --output-on-failure)

npm ci --no-audit --no-fund --loglevel=error

# Fuzz targets, each for a bounded time, against the committed corpus.
if [[ -x tests/fuzz/run.sh && "${GLANCE_TEST_FUZZ:-1}" == 1 ]]; then
  tests/fuzz/run.sh
fi

suites=()
for d in tests/integration tests/faults tests/deploy tests/web tests/browser; do
  [[ -d "$d" ]] && suites+=("$d")
done

# Every suite once more against an AddressSanitizer + UndefinedBehaviorSanitizer build: any memory error
# aborts the replica and fails a test, and a leak at exit fails the clean-shutdown tests.
if [[ "${GLANCE_TEST_SANITIZE:-1}" == 1 ]]; then
  GLANCE_BUILD_DIR=build-asan scripts/build.sh -DGLANCE_SANITIZE=ON
  echo "test.sh: every suite against the ASan + UBSan build (build-asan/glance-api)"
  GLANCE_API_BIN=$PWD/build-asan/glance-api \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    node --test --test-concurrency=1 --test-reporter=dot "${suites[@]}"
fi

# docker compose for real (tests/compose: its own Docker engine, images from Debian's mirror): it builds the
# image from source, so it runs once, with the release suites. GLANCE_TEST_COMPOSE=0 skips it while iterating.
if [[ -d tests/compose && "${GLANCE_TEST_COMPOSE:-1}" == 1 ]]; then
  suites+=(tests/compose)
fi

# The alert deliveries once more at the least GLANCE_ALERT_TIMEOUT_MS the configuration accepts, with a webhook nothing
# listens on before the others in every replica's list: the sender's lock and claims must hold however short the HTTP
# timeout is, and a dead webhook must not delay any other.
echo "test.sh: tests/integration/alert_delivery.test.mjs with GLANCE_ALERT_TIMEOUT_MS=100 and a dead webhook first"
GLANCE_TEST_ALERT_TIMEOUT_MS=100 GLANCE_TEST_DEAD_WEBHOOK=1 node --test --test-reporter=dot tests/integration/alert_delivery.test.mjs

echo "test.sh: every suite against the release build (build/glance-api)"
exec node --test --test-concurrency=1 "${suites[@]}"
