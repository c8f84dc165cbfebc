#!/usr/bin/env bash
# report_instructions.sh -- benchmark: what Redis spends on a shard's report, counted in instructions (valgrind's
# callgrind) rather than timed, so that report modes and builds compare on a shared, noisy machine. Redis runs under
# callgrind, the replica does not; wrk sends each mode of tests/bench/report.lua (every shard online, reporting
# again) for a few seconds, and the instructions Redis ran in that time are divided by the shards reported.
# Usage: tests/bench/report_instructions.sh [binary=build/glance-api] [modes="single figures gateway counters batch batch-gateway"]
# Prints one JSON line: Redis instructions per shard reported, by mode. Takes about a minute.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(realpath "${1:-build/glance-api}")
modes=${2:-single figures gateway counters batch batch-gateway}
shards=10000
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_file() { for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done; echo "no callgrind dump $1" >&2; exit 1; }
total() { awk '/^summary:/ {print $2}' "$1"; }

rport=$(free_port)
valgrind --tool=callgrind --callgrind-out-file="$work/redis.%p" \
  redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" --logfile "$work/redis.log" \
  2>"$work/redis.vg" &
rpid=$!
pids+=("$rpid")
for _ in $(seq 300); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
aport=$(free_port)
GLANCE_BOTS=main:$shards GLANCE_HOST=127.0.0.1 GLANCE_PORT=$aport GLANCE_REDIS_URL=redis://127.0.0.1:$rport/0 \
  GLANCE_REDIS_TIMEOUT_MS=20000 "$bin" 2>"$work/api.log" &
pids+=($!)
for _ in $(seq 300); do curl -fs "http://127.0.0.1:$aport/readyz" >/dev/null && break; sleep 0.1; done
# every shard online first, with its figures and counters once, so that what is counted is the steady state (a
# build from before the counters refuses them: then figures only)
seed() { BENCH_SHARDS=$shards BENCH_MODE=$1 BENCH_BATCH=1000 wrk -t1 -c1 -d3s -s tests/bench/report.lua "http://127.0.0.1:$aport"; }
seed batch-gateway | grep -q 'Non-2xx' && seed batch >/dev/null
# Redis under callgrind is slow: let it finish what the replica still had queued before anything is counted
for _ in $(seq 100); do
  [[ $(redis-cli -p "$rport" info commandstats | grep -c evalsha) == 1 ]] && before=$(redis-cli -p "$rport" info commandstats | grep evalsha)
  sleep 0.5
  [[ $(redis-cli -p "$rport" info commandstats | grep evalsha) == "${before:-}" ]] && break
done
out="{"
n=0
for mode in $modes; do
  per=1
  [[ $mode == batch* ]] && per=256
  callgrind_control -z "$rpid" >/dev/null 2>&1
  requests=$(BENCH_SHARDS=$shards BENCH_MODE=$mode BENCH_BATCH=$per wrk -t1 -c8 -d4s -s tests/bench/report.lua \
    "http://127.0.0.1:$aport" | awk '/requests in/ {print $1}')
  n=$((n + 1))
  sleep 1 # the last requests wrk sent are answered before the count is taken
  callgrind_control -d "$rpid" >/dev/null 2>&1
  wait_file "$work/redis.$rpid.$n"
  [[ $out == "{" ]] || out+=","
  out+="\"$mode\":$(( $(total "$work/redis.$rpid.$n") / (requests * per) ))"
done
echo "$out}"
