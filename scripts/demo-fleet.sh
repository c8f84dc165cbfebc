#!/usr/bin/env bash
# demo-fleet.sh -- a tiny stand-in bot fleet for the demo: brings every shard of GLANCE_BOTS online through
# the HTTP API, pings health, and resumes a random shard now and then, so the dashboard shows life.
# Usage: demo-fleet.sh http://127.0.0.1:8080   (runs until killed)
set -euo pipefail
url=${1:?usage: demo-fleet.sh BASE_URL}
auth=()
[[ -n "${GLANCE_PASSPHRASE:-}" ]] && auth=(-H "Authorization: $GLANCE_PASSPHRASE")
interval=${GLANCE_DEMO_PING_SECONDS:-10}

IFS=';' read -ra clusters <<<"${GLANCE_BOTS:?GLANCE_BOTS is not set}"
post_all() { # post_all KIND SUFFIX: POST /api/KIND/<cluster>/<id>SUFFIX for every shard, one connection per cluster
  local kind=$1 suffix=$2 c name shards args
  for c in "${clusters[@]}"; do
    [[ -n "$c" ]] || continue
    name=${c%%:*} shards=${c##*:} args=()
    for ((i = 0; i < shards; i++)); do args+=("$url/api/$kind/$name/$i$suffix"); done
    curl -fsS -o /dev/null -X POST "${auth[@]}" "${args[@]}" || true
  done
}
post_all status /4
post_all status /3
while true; do
  sleep "$interval"
  post_all health ""
  # one random shard of the first cluster goes through a resume
  c=${clusters[0]} name=${c%%:*} shards=${c##*:}
  s=$((RANDOM % shards))
  curl -fsS -o /dev/null -X POST "${auth[@]}" "$url/api/status/$name/$s/6" "$url/api/status/$name/$s/3" || true
done
