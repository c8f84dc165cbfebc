#!/usr/bin/env bash
# run.sh -- build the libFuzzer targets with clang into build-fuzz/ and run each one for a bounded time
# (GLANCE_FUZZ_SECONDS, default 30), as many at once as there are cores, against a copy of its seed corpus in
# tests/fuzz/corpus/<target>.
# Prints one line per target; exits non-zero when a target crashes, leaks or breaks an invariant, and
# leaves the input that did it in build-fuzz/crashes/<target>/.
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${GLANCE_FUZZ_SECONDS:-30}
dir=${GLANCE_FUZZ_BUILD_DIR:-build-fuzz}
targets=(fuzz_path fuzz_conf fuzz_event fuzz_ws fuzz_incident fuzz_report fuzz_subscription)

CC=${GLANCE_FUZZ_CC:-clang} cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGLANCE_FUZZ=ON >/dev/null
cmake --build "$dir" -j"$(nproc)" --target "${targets[@]}" >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/glance-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
# msgpack-c allocates room for a whole array or map as soon as it reads the header, before it knows the
# elements are there: an 11-byte event can ask for 2 GiB. glance-api's glibc hands out such a mapping
# without touching it (RSS does not move) or returns NULL for an absurd one, and the event is rejected.
# fuzz_event lets those allocations happen, as glibc would, up to 4 GiB, and fails bigger ones with NULL
# instead of calling the request itself a crash; real memory growth is still caught by -rss_limit_mb.
declare -A asan_extra=([fuzz_event]=allocator_may_return_null=1:max_allocation_size_mb=4096)
declare -A fuzz_extra=([fuzz_event]=-malloc_limit_mb=4097)
# One target a core at a time: each still gets its full GLANCE_FUZZ_SECONDS, and the run takes half the time on two.
fuzz_one() {
  local t=$1 log=$dir/crashes/$1/fuzz.log extra=()
  # the committed corpus is only read: new inputs go to the copy, which is thrown away
  rm -rf "${dir:?}/crashes/$t"
  mkdir -p "$work/$t" "$dir/crashes/$t"
  cp tests/fuzz/corpus/"$t"/* "$work/$t/"
  [[ -n "${fuzz_extra[$t]:-}" ]] && extra+=("${fuzz_extra[$t]}")
  if ASAN_OPTIONS=${asan_extra[$t]:-} "$dir/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=1024 -max_len=8192 "${extra[@]}" -print_final_stats=1 \
      -artifact_prefix="$dir/crashes/$t/" "$work/$t" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units:[[:space:]]*//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    inputs=$(find "$work/$t" -type f | wc -l)
    echo "fuzz: $t ok: ${runs:-?} runs in ${seconds} s, ${cov:-cov: ?}, corpus $inputs inputs" >"$work/$t.result"
  else
    { echo "fuzz: $t FAILED: see $log; the input is in $dir/crashes/$t/"
      grep -m 3 -E 'ERROR|SUMMARY|runtime error' "$log" | sed 's/^/  /' || true; } >"$work/$t.result"
  fi
}
jobs_max=$(nproc)
for t in "${targets[@]}"; do
  while (($(jobs -rp | wc -l) >= jobs_max)); do wait -n || true; done
  fuzz_one "$t" &
done
wait
failed=0
for t in "${targets[@]}"; do
  cat "$work/$t.result" 2>/dev/null || echo "fuzz: $t FAILED: it left no result"
  grep -q '^fuzz: [a-z_]* ok:' "$work/$t.result" 2>/dev/null || failed=1
done
exit "$failed"
