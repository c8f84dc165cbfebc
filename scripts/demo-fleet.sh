#!/usr/bin/env bash
# demo-fleet.sh -- the demo's bot fleet: runs glance-sim against BASE_URL with the shards of GLANCE_BOTS, so
# that a new user sees a living dashboard: every shard starts (starting -> online) and pings its health,
# and now and then one resumes, disconnects or goes silent (and turns unhealthy), or a cluster restarts. Trouble
# falls on a few shards (GLANCE_DEMO_TROUBLED, 0.03 of each cluster), which the dashboard then marks as flapping.
# Every report carries figures (latency, with now and then a slow shard; guilds; a few unavailable guilds while
# a shard is in trouble), and pings go as batches, 16 shards to a request, as a sharded bot's processes would.
# Usage: demo-fleet.sh http://127.0.0.1:8080   (runs until killed; GLANCE_PASSPHRASE is sent when set)
# Tuning: GLANCE_DEMO_PING_SECONDS (10), GLANCE_DEMO_RATE (changes per second on average, 10; a cluster restart
# counts all its shards, so most seconds see fewer), GLANCE_DEMO_BATCH (shards per batch, 16; 0: one POST per
# ping), GLANCE_DEMO_TROUBLED (the share of each cluster's shards trouble falls on, 0.03), GLANCE_HEALTH_TIMEOUT (30).
set -euo pipefail
url=${1:?usage: demo-fleet.sh BASE_URL}
repo=$(cd "$(dirname "$0")/.." && pwd)
# the checkout's build, else one on the PATH (the container image installs it in /usr/local/bin)
sim=${GLANCE_SIM_BIN:-$repo/build/glance-sim}
[[ -x $sim ]] || sim=$(command -v glance-sim) ||
  { echo "demo-fleet: glance-sim is missing; build it with scripts/build.sh" >&2; exit 1; }
: "${GLANCE_BOTS:?GLANCE_BOTS is not set}"
# glance-sim reads GLANCE_BOTS and GLANCE_PASSPHRASE itself; exec, so that killing this script stops it
exec "$sim" --url "${url%/}" \
  --ping-interval "${GLANCE_DEMO_PING_SECONDS:-10}" --jitter 0.2 \
  --figures --batch "${GLANCE_DEMO_BATCH:-16}" \
  --rate "${GLANCE_DEMO_RATE:-10}" --mix resume=0.6,disconnect=0.22,silent=0.17,restart=0.01 \
  --troubled "${GLANCE_DEMO_TROUBLED:-0.03}" \
  --health-timeout "${GLANCE_HEALTH_TIMEOUT:-30}" --boot-spread 5 --duration 0
