#!/usr/bin/env bash
# write_instructions.sh -- benchmark: what a state change costs, counted in instructions (valgrind's callgrind)
# rather than timed, so that two builds compare on a shared, noisy machine.
#   1. the replica under callgrind, its Redis not: instructions per POST /api/status that changes a state, for the
#      whole replica and for store_status (formatting the EVALSHA and handing it to hiredis), and per /healthz;
#   2. Redis under callgrind: instructions per state change made by lib.lua's change() (the accounting, the log,
#      the story, the event), driven 3,000 times by tests/bench/record_driver.lua inside one EVAL.
# Usage: tests/bench/write_instructions.sh [binary=build/glance-api] [lib.lua=services/api/redis/lua/lib.lua]
# Prints one JSON line. Takes about a minute.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-build/glance-api}
lib=${2:-services/api/redis/lua/lib.lua}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_file() { for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done; echo "no callgrind dump $1" >&2; exit 1; }
# inclusive instructions of the function matching $2 in callgrind dump $1
inclusive() { callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null | awk -v f="$2" '$0 ~ f && !done {gsub(",", "", $1); print $1; done = 1}'; }
total() { awk '/^summary:/ {print $2}' "$1"; }
requests() { awk '/requests in/ {print $1}'; }

# 1. the replica
rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" --logfile "$work/redis.log" &
pids+=($!)
aport=$(free_port)
GLANCE_BOTS=main:1000 GLANCE_HOST=127.0.0.1 GLANCE_PORT=$aport GLANCE_REDIS_URL=redis://127.0.0.1:$rport/0 \
  valgrind --tool=callgrind --callgrind-out-file="$work/api.%p" "$bin" 2>"$work/api.log" &
apid=$!
pids+=("$apid")
for _ in $(seq 300); do curl -fs "http://127.0.0.1:$aport/readyz" >/dev/null && break; sleep 0.1; done
BENCH_SHARDS=1000 wrk -t1 -c8 -d2s -s tests/bench/post_status.lua "http://127.0.0.1:$aport" >/dev/null
callgrind_control -z "$apid" >/dev/null 2>&1
posts=$(BENCH_SHARDS=1000 wrk -t1 -c8 -d4s -s tests/bench/post_status.lua "http://127.0.0.1:$aport" | requests)
callgrind_control -d "$apid" >/dev/null 2>&1
wait_file "$work/api.$apid.1"
callgrind_control -z "$apid" >/dev/null 2>&1
checks=$(wrk -t1 -c8 -d3s "http://127.0.0.1:$aport/healthz" | requests)
callgrind_control -d "$apid" >/dev/null 2>&1
wait_file "$work/api.$apid.2"
replica_post=$(( $(total "$work/api.$apid.1") / posts ))
store_post=$(( $(inclusive "$work/api.$apid.1" 'store[a-z_]*.c:store_status \\[') / posts ))
replica_healthz=$(( $(total "$work/api.$apid.2") / checks ))

# 2. Redis
rport2=$(free_port)
valgrind --tool=callgrind --callgrind-out-file="$work/redis.%p" \
  redis-server --port "$rport2" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" --logfile "$work/redis2.log" \
  2>"$work/redis2.vg" &
rpid=$!
pids+=("$rpid")
for _ in $(seq 300); do redis-cli -p "$rport2" ping >/dev/null 2>&1 && break; sleep 0.1; done
cat "$lib" tests/bench/record_driver.lua >"$work/driver.lua"
keys=(h m r f l states since ver)
redis-cli -p "$rport2" --eval "$work/driver.lua" "${keys[@]}" , >/dev/null # every shard reported once
callgrind_control -z "$rpid" >/dev/null 2>&1
redis-cli -p "$rport2" --eval "$work/driver.lua" "${keys[@]}" , >/dev/null
callgrind_control -d "$rpid" >/dev/null 2>&1
wait_file "$work/redis.$rpid.1"
change=$(( $(inclusive "$work/redis.$rpid.1" 'evalCommand') / 3000 ))

echo "{\"posts\":$posts,\"replica_instructions_per_post\":$replica_post,\"store_instructions_per_post\":$store_post,\"replica_instructions_per_healthz\":$replica_healthz,\"redis_instructions_per_change\":$change}"
