#!/usr/bin/env bash
# write_ratio.sh -- benchmark: POST /api/status requests/s on one replica against the same replica's
# /healthz requests/s, with wrk, same connections, same run (a ratio, since the machine is shared and noisy).
# Usage: tests/bench/write_ratio.sh [seconds=5] [connections=32]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-5}
conns=${2:-32}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" --logfile "$work/redis.log" &
pids+=($!)
aport=$(free_port)
GLANCE_BOTS=main:1000 GLANCE_HOST=127.0.0.1 GLANCE_PORT=$aport GLANCE_REDIS_URL=redis://127.0.0.1:$rport/0 \
  build/glance-api 2>"$work/api.log" &
pids+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$aport/readyz" >/dev/null && break; sleep 0.05; done

rate() { # rate ARGS...: requests/s that wrk reports
  wrk -t1 -c"$conns" -d"${secs}s" "$@" | awk '/Requests\/sec/ {print $2}'
}
healthz=$(rate "http://127.0.0.1:$aport/healthz")
post=$(BENCH_SHARDS=1000 rate -s tests/bench/post_status.lua "http://127.0.0.1:$aport")
errors=$(curl -fs "http://127.0.0.1:$aport/metrics" | awk '/glance_http_requests_total\{code="5/ {s += $2} END {print s + 0}')
ratio=$(awk -v p="$post" -v h="$healthz" 'BEGIN {printf "%.2f", p / h}')
echo "{\"healthz_rps\":$healthz,\"post_status_rps\":$post,\"ratio\":$ratio,\"server_errors\":$errors,\"connections\":$conns,\"seconds\":$secs}"
