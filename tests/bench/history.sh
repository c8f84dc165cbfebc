#!/usr/bin/env bash
# history.sh -- the history benchmark (tests/bench/history.mjs): builds glance-api as it was before the history
# (GLANCE_BENCH_BASE, default the commit before it landed) beside this build, then compares their POST rates pair
# by pair and measures what the history holds in Redis at 360 and 10,000 shards. Loopback only; about 3 minutes.
# Usage: tests/bench/history.sh [--rounds 3] [--seconds 5]
set -euo pipefail
cd "$(dirname "$0")/../.."
base=${GLANCE_BENCH_BASE:-799ee6a}
work=$(mktemp -d)
cleanup() { git worktree remove --force "$work/src" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
scripts/build.sh >/dev/null
git worktree add --detach "$work/src" "$base" >/dev/null 2>&1
GLANCE_BUILD_DIR="$work/build" "$work/src/scripts/build.sh" >/dev/null
GLANCE_BENCH_BASE_BIN="$work/build/glance-api" node tests/bench/history.mjs "$@"
