#!/usr/bin/env bash
# demo-fleet.sh -- the demo's bot fleet: runs glance-sim against BASE_URL with the shards of GLANCE_BOTS, so
# that a new user sees a living dashboard: every shard starts (starting -> online) and pings its health,
# and now and then one resumes, disconnects or goes silent (and turns unhealthy). Trouble
# falls on a few shards (GLANCE_DEMO_TROUBLED, 0.03 of each cluster), which the dashboard then marks as flapping.
# Every report carries figures (latency, with now and then a slow shard; guilds; a few unavailable guilds while
# a shard is in trouble), and pings go as batches, 16 shards to a request, as a sharded bot's processes would.
# Gateway trouble (issue 28), so that the page shows each of its marks: every report carries the shard's gateway
# counters and each cluster posts its identify budget; a few zombie shards stay online and keep pinging with the
# same latency but receive no events a minute after they come online (marked silent after GLANCE_SILENT_AFTER);
# a shard or two serve 2,300-2,499 guilds (near the 2,500 cap); and with several clusters, the smallest restarts
# over and over (a storm of identifies, its identify budget short of its shards after its first restart). That loop
# is the only whole-cluster restart: the others start once, as a bot's clusters do between deploys, so they show no
# storm and no short budget (a second full restart within two hours is a storm, and after two full restarts of
# main's 360 shards a budget of 1,000 has 280 left, short of a third), and the marks mean something on the page.
# Usage: demo-fleet.sh http://127.0.0.1:8080   (runs until killed; GLANCE_PASSPHRASE is sent when set)
# Tuning: GLANCE_DEMO_PING_SECONDS (10), GLANCE_DEMO_RATE (changes per second asked for, 10; the few troubled
# shards rest between their events, so about 3 a second happen, and the loop's restarts add theirs: 4.2 a second in
# all over a 216 s run of ./run.sh on 7 December 2026), GLANCE_DEMO_BATCH (shards per batch, 16; 0: one POST per
# ping), GLANCE_DEMO_TROUBLED (the share of each cluster's shards trouble falls on, 0.03), GLANCE_HEALTH_TIMEOUT (30),
# GLANCE_DEMO_ZOMBIES (3), GLANCE_DEMO_NEAR_CAP (2), GLANCE_DEMO_LOOP (the cluster in a restart loop; default the
# smallest when there are several; "none": no loop), GLANCE_DEMO_LOOP_SECONDS (50, +- 20 %: at most a minute,
# so the last whole minute, which glance-api judges a storm on, always holds a restart; 16 shards then add about 1.3
# changes a second),
# GLANCE_DEMO_GATEWAY (1; 0 sends none of it, for a server older than issue 28).
set -euo pipefail
url=${1:?usage: demo-fleet.sh BASE_URL}
repo=$(cd "$(dirname "$0")/.." && pwd)
# the checkout's build, else one on the PATH (the container image installs it in /usr/local/bin)
sim=${GLANCE_SIM_BIN:-$repo/build/glance-sim}
[[ -x $sim ]] || sim=$(command -v glance-sim) ||
  { echo "demo-fleet: glance-sim is missing; build it with scripts/build.sh" >&2; exit 1; }
: "${GLANCE_BOTS:?GLANCE_BOTS is not set}"

# smallest_cluster SPEC: the name of the cluster with the fewest shards in "name:shards;...", when there are two or
# more (a loop on the only cluster would leave nothing calm to compare it with); nothing otherwise
smallest_cluster() {
  local entry name shards best='' best_shards='' n=0
  local -a entries
  IFS=';' read -ra entries <<<"$1"
  for entry in "${entries[@]}"; do
    [[ $entry == *:* ]] || continue
    name=${entry%%:*} shards=${entry##*:}
    n=$((n + 1))
    if [[ -z $best || $shards -lt $best_shards ]]; then best=$name best_shards=$shards; fi
  done
  ((n >= 2)) && printf '%s\n' "$best"
  return 0
}

trouble=()
if [[ ${GLANCE_DEMO_GATEWAY:-1} != 0 ]]; then
  trouble+=(--gateway --zombies "${GLANCE_DEMO_ZOMBIES:-3}" --near-cap "${GLANCE_DEMO_NEAR_CAP:-2}")
  loop=${GLANCE_DEMO_LOOP:-$(smallest_cluster "$GLANCE_BOTS")}
  if [[ -n $loop && $loop != none ]]; then
    trouble+=(--restart-loop "$loop" --loop-every "${GLANCE_DEMO_LOOP_SECONDS:-50}")
  fi
fi

# glance-sim reads GLANCE_BOTS and GLANCE_PASSPHRASE itself; exec, so that killing this script stops it
exec "$sim" --url "${url%/}" \
  --ping-interval "${GLANCE_DEMO_PING_SECONDS:-10}" --jitter 0.2 \
  --figures --batch "${GLANCE_DEMO_BATCH:-16}" \
  --rate "${GLANCE_DEMO_RATE:-10}" --mix resume=0.6,disconnect=0.22,silent=0.18,restart=0 \
  --troubled "${GLANCE_DEMO_TROUBLED:-0.03}" \
  --health-timeout "${GLANCE_HEALTH_TIMEOUT:-30}" --boot-spread 5 --duration 0 "${trouble[@]}"
