#!/usr/bin/env bash
# run.sh -- install what is missing, build, and run Glance on this machine: redis-server and one
# glance-api with a demo configuration, at http://127.0.0.1:${GLANCE_PORT:-8080}/. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")"

scripts/deps.sh
scripts/build.sh

export GLANCE_BOTS=${GLANCE_BOTS:-"main:360;demo:16"}
export GLANCE_HOST=${GLANCE_HOST:-127.0.0.1}
export GLANCE_PORT=${GLANCE_PORT:-8080}
export GLANCE_WEB_ROOT=${GLANCE_WEB_ROOT:-$PWD/web}
redis_port=${GLANCE_DEMO_REDIS_PORT:-6380}
export GLANCE_REDIS_URL=${GLANCE_REDIS_URL:-redis://127.0.0.1:$redis_port/0}
data=${GLANCE_DEMO_DATA:-$PWD/build/demo-redis}
mkdir -p "$data"

pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

redis-server deploy/redis.conf --port "$redis_port" --bind 127.0.0.1 --dir "$data" --daemonize no &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done

build/glance-api &
pids+=($!)
for _ in $(seq 50); do curl -fs "http://$GLANCE_HOST:$GLANCE_PORT/readyz" >/dev/null && break; sleep 0.1; done

scripts/demo-fleet.sh "http://$GLANCE_HOST:$GLANCE_PORT" &
pids+=($!)
echo "Glance is running: http://$GLANCE_HOST:$GLANCE_PORT/  (Ctrl-C stops it)"
wait -n "${pids[@]}"
