#!/usr/bin/env bash
# write_ratio.sh -- benchmark: POST /api/status requests/s on one replica against the same replica's
# /healthz requests/s, with wrk, same connections, same run (a ratio, since the machine is shared and noisy).
# The replica and Redis run on CPU 0 and wrk on CPU 1 (taskset), so that the load generator does not take the
# server's time; each run prints one line.
# Usage: tests/bench/write_ratio.sh [seconds=5] [connections=32] [runs=1] [binary=build/glance-api]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-5}
conns=${2:-32}
runs=${3:-1}
bin=${4:-build/glance-api}
server_cpu=(taskset -c 0)
load_cpu=(taskset -c 1)
if [ "$(nproc)" -lt 2 ]; then server_cpu=(); load_cpu=(); fi
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rport=$(free_port)
"${server_cpu[@]}" redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" --logfile "$work/redis.log" &
pids+=($!)
aport=$(free_port)
GLANCE_BOTS=main:1000 GLANCE_HOST=127.0.0.1 GLANCE_PORT=$aport GLANCE_REDIS_URL=redis://127.0.0.1:$rport/0 \
  "${server_cpu[@]}" "$bin" 2>"$work/api.log" &
pids+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$aport/readyz" >/dev/null && break; sleep 0.05; done

rate() { # rate ARGS...: requests/s that wrk reports
  "${load_cpu[@]}" wrk -t1 -c"$conns" -d"${secs}s" "$@" | awk '/Requests\/sec/ {print $2}'
}
server_errors() { curl -fs "http://127.0.0.1:$aport/metrics" | awk '/glance_http_requests_total\{code="5/ {s += $2} END {print s + 0}'; }
errors0=$(server_errors) # /readyz answered 503 until Redis was there
for _ in $(seq "$runs"); do
  healthz=$(rate "http://127.0.0.1:$aport/healthz")
  post=$(BENCH_SHARDS=1000 rate -s tests/bench/post_status.lua "http://127.0.0.1:$aport")
  ping=$(BENCH_SHARDS=1000 BENCH_SAME=1 rate -s tests/bench/post_status.lua "http://127.0.0.1:$aport")
  errors=$(( $(server_errors) - errors0 ))
  ratio=$(awk -v p="$post" -v h="$healthz" 'BEGIN {printf "%.2f", p / h}')
  ping_ratio=$(awk -v p="$ping" -v h="$healthz" 'BEGIN {printf "%.2f", p / h}')
  echo "{\"healthz_rps\":$healthz,\"post_status_rps\":$post,\"ratio\":$ratio,\"post_ping_rps\":$ping,\"ping_ratio\":$ping_ratio,\"server_errors\":$errors,\"connections\":$conns,\"seconds\":$secs}"
done
