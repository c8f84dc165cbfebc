#!/usr/bin/env bash
# stack.sh -- the docker compose topology without Docker: redis-server, N glance-api replicas and HAProxy,
# all on 127.0.0.1, with the same deploy/redis.conf and deploy/haproxy.cfg.
#
# Usage: deploy/stack.sh up [N] | down | status
#   up [N]  starts Redis, N replicas (default 3) and HAProxy in front of them, and returns once /readyz
#           answers 200 through the load balancer and HAProxy sees every replica up. If anything does not
#           come up, it prints that part's log, stops what it started and exits 1.
#   down    stops what `up` started, by the PIDs it recorded: the replicas first (they close their feeds
#           with 1001 so browsers move on), then HAProxy, then Redis (which flushes its append-only file).
#   status  lists every process with its PID, address and state, and HAProxy's view of the replicas.
#           Exits 0 when everything is up, 1 when a part is down, 3 when the stack is not running.
#
# Settings, from the environment or else the .env file the replicas read (GLANCE_ENV_FILE, default <repo>/.env);
# `up` reads them, `down` and `status` use what `up` recorded:
#   GLANCE_STACK_DIR         state: PIDs, ports, logs, Redis data (default <repo>/build/stack)
#   GLANCE_LB_PORT           the load balancer: dashboard, API and feed (default 8080)
#   GLANCE_LB_STATS_PORT     HAProxy's stats page (/stats) and Prometheus metrics (/metrics) (default 8404)
#   GLANCE_STACK_REDIS_PORT  Redis (default 6380, clear of a system Redis on 6379)
#   GLANCE_STACK_API_PORT    replica i listens on this port + i - 1 (default 18081)
#   GLANCE_API_BIN           the glance-api binary (default <repo>/build/glance-api)
# The replicas run in the repository root, so they read its .env like a single glance-api would; every other
# GLANCE_* variable (GLANCE_BOTS, GLANCE_PASSPHRASE, ...) is passed through. This script sets GLANCE_HOST,
# GLANCE_PORT, GLANCE_REDIS_URL and GLANCE_REPLICA_NAME (api1, api2, ...) for each replica, and GLANCE_TRUSTED_PROXIES
# (127.0.0.1, where HAProxy connects from) unless it is set.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)

# shellcheck source=deploy/env.sh
. "$repo/deploy/env.sh"

dir=$(glance_setting GLANCE_STACK_DIR "$repo/build/stack")
[[ $dir == /* ]] || dir=$PWD/$dir
procs=$dir/procs # one line per process: name pid port, in start order
cd "$repo"

usage() {
  echo "usage: deploy/stack.sh up [N] | down | status" >&2
  exit 2
}

# alive PID: true while PID runs (a killed child that nobody has reaped yet is a zombie: not alive)
alive() {
  local stat
  stat=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $stat != *Z* ]]
}

# is_ours PID NAME: true when PID is alive and is the program we started as NAME (PIDs get reused)
is_ours() {
  local pid=$1 name=$2 comm
  alive "$pid" || return 1
  comm=$(ps -o comm= -p "$pid" 2>/dev/null) || return 1
  case $name in
    redis) [[ $comm == redis-server* ]] ;;
    haproxy) [[ $comm == haproxy* ]] ;;
    *) [[ $comm == glance-api* ]] ;;
  esac
}

# listening PORT: true when something accepts connections on 127.0.0.1:PORT
listening() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# http_ok URL: true when GET URL answers 2xx within a second
http_ok() {
  curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null
}

# lb_servers: "name status" for every server of backend api, from HAProxy's stats CSV
lb_servers() {
  curl -fsS --max-time 1 "http://127.0.0.1:$lb_stats_port/stats;csv" 2>/dev/null |
    awk -F, '$1 == "api" && $2 != "FRONTEND" && $2 != "BACKEND" { print $2, $18 }'
}

load_state() {
  [[ -f $dir/stack.env ]] || return 1
  # shellcheck source=/dev/null
  . "$dir/stack.env"
}

# stop_all: SIGTERM the replicas together, then HAProxy, then Redis, each waited for (SIGKILL after a grace)
stop_all() {
  local name pid port group
  [[ -f $procs ]] || return 0
  for group in api haproxy redis; do
    local pids=() names=()
    while read -r name pid port; do
      [[ $group == api && $name == api* ]] || [[ $name == "$group" ]] || continue
      if is_ours "$pid" "$name"; then
        kill -TERM "$pid" 2>/dev/null || true
        pids+=("$pid") names+=("$name")
      fi
    done <"$procs"
    ((${#pids[@]})) || continue
    # glance-api allows itself 10 s to finish in-flight requests and close its feeds
    local deadline=$((SECONDS + 15)) i alive
    while :; do
      alive=0
      for i in "${!pids[@]}"; do
        is_ours "${pids[i]}" "${names[i]}" && alive=1
      done
      if ((!alive || SECONDS >= deadline)); then break; fi
      sleep 0.1
    done
    for i in "${!pids[@]}"; do
      if is_ours "${pids[i]}" "${names[i]}"; then
        echo "stack: ${names[i]} (pid ${pids[i]}) did not stop in time; killing it" >&2
        kill -KILL "${pids[i]}" 2>/dev/null || true
      fi
    done
  done
  rm -f "$procs"
}

# fail MESSAGE [LOG]: say what failed, show the end of its log, stop everything, exit 1
fail() {
  echo "stack: $1" >&2
  if [[ -n ${2:-} && -f $2 ]]; then
    echo "--- last lines of $2 ---" >&2
    tail -n 20 "$2" >&2
  fi
  stop_all
  exit 1
}

# start NAME PORT LOG COMMAND...: runs COMMAND in the background, its output in LOG, and records its PID
start() {
  local name=$1 port=$2 log=$3
  shift 3
  "$@" >"$log" 2>&1 </dev/null &
  echo "$name $! $port" >>"$procs"
}

# wait_for NAME WHAT SECONDS COMMAND...: polls COMMAND every 100 ms until it succeeds; fail()s, with NAME's
# log, when NAME exits first or SECONDS pass
wait_for() {
  local name=$1 what=$2 limit=$3 deadline=$((SECONDS + $3)) pid
  shift 3
  pid=$(awk -v n="$name" '$1 == n { print $2 }' "$procs")
  until "$@"; do
    alive "$pid" || fail "$what exited during start-up" "$dir/logs/$name.log"
    ((SECONDS < deadline)) || fail "$what did not come up within $limit s" "$dir/logs/$name.log"
    sleep 0.1
  done
}

redis_ok() {
  redis-cli -p "$1" ping >/dev/null 2>&1
}

# lb_ready PORT N: /readyz answers 200 through the load balancer and HAProxy sees N replicas up, each after a
# passed check ("UP", not "UP 1/2": HAProxy starts its servers one failure away from down)
lb_ready() {
  http_ok "http://127.0.0.1:$1/readyz" && (($(lb_servers | grep -c ' UP$') == $2))
}

up() {
  local n=${1:-3}
  if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 1 || n > 64)); then
    echo "stack: N must be from 1 to 64, not '$n'" >&2
    exit 2
  fi
  local lb_port lb_stats_port redis_port api_port bin
  lb_port=$(glance_setting GLANCE_LB_PORT 8080)
  lb_stats_port=$(glance_setting GLANCE_LB_STATS_PORT 8404)
  redis_port=$(glance_setting GLANCE_STACK_REDIS_PORT 6380)
  api_port=$(glance_setting GLANCE_STACK_API_PORT 18081)
  bin=${GLANCE_API_BIN:-$repo/build/glance-api}
  for port in "$lb_port" "$lb_stats_port" "$redis_port" "$api_port"; do
    if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
      echo "stack: '$port' is not a port" >&2
      exit 2
    fi
  done
  local name pid port i entry
  # the stack's own ports must all differ: a load balancer on a replica's port would fail only once HAProxy starts,
  # with HAProxy's words, after the replicas are up
  local -A owner=()
  local entries=("GLANCE_LB_PORT:$lb_port" "GLANCE_LB_STATS_PORT:$lb_stats_port" "GLANCE_STACK_REDIS_PORT:$redis_port")
  for ((i = 1; i <= n; i++)); do entries+=("replica api$i (GLANCE_STACK_API_PORT + $((i - 1))):$((api_port + i - 1))"); done
  if ((api_port + n - 1 > 65535)); then
    echo "stack: GLANCE_STACK_API_PORT $api_port leaves no port for replica api$n (at most 65535)" >&2
    exit 2
  fi
  for entry in "${entries[@]}"; do
    port=${entry##*:}
    if [[ -n ${owner[$port]:-} ]]; then
      echo "stack: port $port is both ${owner[$port]} and ${entry%:*}; give them different ports" >&2
      exit 2
    fi
    owner[$port]=${entry%:*}
  done

  if [[ -f $procs ]]; then
    while read -r name pid port; do
      if is_ours "$pid" "$name"; then
        echo "stack: already running (state in $dir); run deploy/stack.sh down first" >&2
        exit 1
      fi
    done <"$procs"
    rm -f "$procs"
  fi
  [[ -x $bin ]] || { echo "stack: no glance-api at $bin (build it with scripts/build.sh)" >&2; exit 1; }
  for cmd in redis-server redis-cli haproxy curl; do
    command -v "$cmd" >/dev/null || { echo "stack: $cmd is not installed (scripts/deps.sh installs it)" >&2; exit 1; }
  done
  local ports=("$lb_port" "$lb_stats_port" "$redis_port")
  for ((i = 0; i < n; i++)); do ports+=($((api_port + i))); done
  for port in "${ports[@]}"; do
    ! listening "$port" || { echo "stack: port $port on 127.0.0.1 is already in use" >&2; exit 1; }
  done

  mkdir -p "$dir/logs" "$dir/redis"
  cat >"$dir/stack.env" <<EOF
lb_port=$lb_port
lb_stats_port=$lb_stats_port
redis_port=$redis_port
replicas=$n
EOF
  : >"$procs"

  start redis "$redis_port" "$dir/logs/redis.log" \
    redis-server "$repo/deploy/redis.conf" --port "$redis_port" --bind 127.0.0.1 --dir "$dir/redis" --daemonize no
  wait_for redis "redis-server on port $redis_port" 10 redis_ok "$redis_port"

  # the replicas, each on its own port, all against the one Redis
  local servers=""
  for ((i = 1; i <= n; i++)); do
    port=$((api_port + i - 1))
    # HAProxy reaches the replicas from 127.0.0.1: its X-Forwarded-For names the client (the per-address limits)
    start "api$i" "$port" "$dir/logs/api$i.log" env GLANCE_HOST=127.0.0.1 GLANCE_PORT="$port" \
      GLANCE_REDIS_URL="redis://127.0.0.1:$redis_port/0" GLANCE_REPLICA_NAME="api$i" \
      GLANCE_TRUSTED_PROXIES="$(glance_setting GLANCE_TRUSTED_PROXIES 127.0.0.1)" "$bin"
    servers+="    server api$i 127.0.0.1:$port"$'\n'
  done
  # the same two backends as deploy/haproxy.docker.cfg, with a fixed server list
  cat >"$dir/haproxy.servers.cfg" <<EOF
# generated by deploy/stack.sh up $n: the replicas behind deploy/haproxy.cfg
backend api
$servers
backend feed
    # a replica marked down takes its feeds with it, so that browsers reconnect to a live one at once
    default-server on-marked-down shutdown-sessions
$servers
EOF
  for ((i = 1; i <= n; i++)); do
    port=$((api_port + i - 1))
    wait_for "api$i" "glance-api replica api$i on port $port" 15 http_ok "http://127.0.0.1:$port/readyz"
  done

  # HAProxy, with the one shared configuration and this stack's server list
  export GLANCE_LB_BIND=127.0.0.1:$lb_port GLANCE_LB_STATS_BIND=127.0.0.1:$lb_stats_port
  export GLANCE_LB_SOCKET=$dir/haproxy.sock
  local cfg=(-f "$repo/deploy/haproxy.cfg" -f "$dir/haproxy.servers.cfg")
  haproxy -c -q "${cfg[@]}" >"$dir/logs/haproxy.log" 2>&1 || fail "the HAProxy configuration does not load" "$dir/logs/haproxy.log"
  start haproxy "$lb_port" "$dir/logs/haproxy.log" haproxy -db "${cfg[@]}"
  wait_for haproxy "HAProxy on port $lb_port" 15 lb_ready "$lb_port" "$n"

  echo "stack: up: http://127.0.0.1:$lb_port/ ($n replicas behind HAProxy; stats http://127.0.0.1:$lb_stats_port/stats; state in $dir)"
}

status() {
  local lb_stats_port name pid port state rc=0 running=0
  if ! load_state || [[ ! -f $procs ]]; then
    echo "stack: not running (no state in $dir)"
    return 3
  fi
  while read -r name pid port; do
    if ! is_ours "$pid" "$name"; then
      state=dead rc=1
    else
      running=1
      case $name in
        redis) if redis_ok "$port"; then state=up; else state="not answering" rc=1; fi ;;
        haproxy) if http_ok "http://127.0.0.1:$port/readyz"; then state=up; else state="no ready replica" rc=1; fi ;;
        *) if http_ok "http://127.0.0.1:$port/readyz"; then state=ready; else state="not ready" rc=1; fi ;;
      esac
    fi
    printf '%-8s pid %-8s 127.0.0.1:%-6s %s\n' "$name" "$pid" "$port" "$state"
  done <"$procs"
  local servers
  servers=$(lb_servers | tr '\n' ' ')
  if [[ -n $servers ]]; then echo "haproxy sees: $servers(stats http://127.0.0.1:$lb_stats_port/stats)"; fi
  if ((!running)); then
    echo "stack: not running (every recorded process has exited)"
    return 3
  fi
  return "$rc"
}

case ${1:-} in
  up)
    (($# <= 2)) || usage
    up "${2:-}"
    ;;
  down)
    (($# == 1)) || usage
    if [[ -f $procs ]]; then
      stop_all
      echo "stack: down"
    else
      echo "stack: not running"
    fi
    ;;
  status)
    (($# == 1)) || usage
    rc=0
    status || rc=$?
    exit "$rc"
    ;;
  *) usage ;;
esac
