#!/usr/bin/env bash
# run.sh -- run Glance on this machine with a demo bot fleet, the way it is deployed: Redis, three glance-api
# replicas and HAProxy in front. With a Docker engine that answers, that is `docker compose --profile demo
# up`; without one, or when the images it needs can be neither found nor pulled, the same topology from
# Debian's packages (deploy/stack.sh), after installing what is missing and building.
# Serves http://127.0.0.1:${GLANCE_LB_PORT:-8080}/; Ctrl-C stops everything.
#
# GLANCE_RUN=local uses deploy/stack.sh even when Docker is there; GLANCE_REPLICAS (default 3) sets how many
# replicas the local stack runs. Configuration: environment or .env (see .env.sample).
set -euo pipefail
cd "$(dirname "$0")"

# shellcheck source=deploy/env.sh
. deploy/env.sh

docker_compose() {
  if docker compose version >/dev/null 2>&1; then
    docker compose "$@"
  else
    docker-compose "$@"
  fi
}

# missing_image: prints the first image compose needs that is neither here nor pullable (the services' images and
# the Dockerfile's bases; glance-api:local is built), with docker pull's last line; prints nothing when all are
missing_image() {
  local image out
  for image in $(docker_compose --profile demo config 2>/dev/null | awk '$1 == "image:" && $2 != "glance-api:local" { print $2 }') \
    $(awk 'toupper($1) == "FROM" { print $2 }' Dockerfile); do
    docker image inspect "$image" >/dev/null 2>&1 && continue
    if ! out=$(timeout 60 docker pull -q "$image" 2>&1); then
      echo "$image ($(tail -n 1 <<<"$out"))"
      return
    fi
  done
}

# the demo's zombie shards go quiet a minute after they come online (scripts/demo-fleet.sh): with a silent mark a
# minute after that, the page shows one two minutes after the start rather than six (the default, 300 s, suits a
# real fleet, not a first look); a .env or the environment that sets it wins
if [[ -z $(glance_setting GLANCE_SILENT_AFTER "") ]]; then
  export GLANCE_SILENT_AFTER=60
fi

use_compose=0
if [[ ${GLANCE_RUN:-} != local ]] && command -v docker >/dev/null && docker info >/dev/null 2>&1 &&
  { docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null; }; then
  missing=$(missing_image)
  if [[ -z $missing ]]; then
    use_compose=1
  else
    echo "run.sh: a Docker engine answers, but docker compose cannot get $missing; running the local stack instead" >&2
  fi
fi

if ((use_compose)); then
  port=$(glance_setting GLANCE_LB_PORT 8080)
  trap 'docker_compose --profile demo down' EXIT
  echo "Glance: starting with docker compose (the dashboard will be at http://127.0.0.1:$port/; Ctrl-C stops it)"
  docker_compose --profile demo up --build
  exit 0
fi

scripts/deps.sh
scripts/build.sh

# the demo needs clusters to show; a .env or the environment may name the real ones
if [[ -z $(glance_setting GLANCE_BOTS "") ]]; then
  export GLANCE_BOTS="main:360;demo:16"
fi
port=$(glance_setting GLANCE_LB_PORT "${GLANCE_PORT:-8080}")
export GLANCE_LB_PORT=$port

# a stack left running (by deploy/stack.sh up, or another run.sh) is not ours to stop
rc=0
deploy/stack.sh status >/dev/null 2>&1 || rc=$?
if ((rc != 3)); then
  echo "run.sh: a local stack is already running (deploy/stack.sh status shows it; deploy/stack.sh down stops it)" >&2
  exit 1
fi

fleet=
stop() {
  trap - EXIT INT TERM
  if [[ -n $fleet ]]; then kill "$fleet" 2>/dev/null || true; fi
  deploy/stack.sh down
}
trap stop EXIT
trap 'exit 130' INT TERM

deploy/stack.sh up "${GLANCE_REPLICAS:-3}"

# the demo fleet posts through the load balancer, as real bots would
passphrase=$(glance_setting GLANCE_PASSPHRASE "")
passphrase_file=$(glance_setting GLANCE_PASSPHRASE_FILE "")
if [[ -z $passphrase && -n $passphrase_file ]]; then
  passphrase=$(head -n 1 "$passphrase_file")
fi
GLANCE_BOTS=$(glance_setting GLANCE_BOTS "") GLANCE_PASSPHRASE=$passphrase scripts/demo-fleet.sh "http://127.0.0.1:$port" &
fleet=$!
echo "Glance is running: http://127.0.0.1:$port/  (HAProxy stats: http://127.0.0.1:$(glance_setting GLANCE_LB_STATS_PORT 8404)/stats; Ctrl-C stops it)"
wait "$fleet"
