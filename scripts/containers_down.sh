#!/usr/bin/env bash
# Undoes scripts/containers_up.sh and the container tier's runs: removes the containers and docker
# networks labelled vs.tier=samlocal (and SAM's function containers left on those networks), then
# stops the dockerd that containers_up.sh started, and only that one. Images stay, so that the next
# set-up is quick. Safe to run when nothing is up.
set -euo pipefail

state_dir=${VS_DOCKER_STATE_DIR:-/var/lib/vs-docker}
run_dir=${VS_DOCKER_RUN_DIR:-/run/vs-docker}
started_marker="$run_dir/started-by-containers-up"
label=vs.tier=samlocal

remove_tier_objects() {
  local networks=() containers=() network
  mapfile -t networks < <(docker network ls --quiet --filter "label=$label")
  mapfile -t containers < <(
    {
      docker ps --all --quiet --filter "label=$label"
      for network in "${networks[@]}"; do
        docker ps --all --quiet --filter "network=$network"
      done
    } | sort -u
  )
  if ((${#containers[@]})); then
    docker rm --force --volumes "${containers[@]}" >/dev/null
    echo "containers_down: removed ${#containers[@]} container(s)"
  fi
  if ((${#networks[@]})); then
    docker network rm "${networks[@]}" >/dev/null
    echo "containers_down: removed ${#networks[@]} network(s)"
  fi
}

remove_forwarding_guard() {
  # The DOCKER-USER rules containers_up.sh added (marked with the comment vs-samlocal).
  local rule
  while read -r rule; do
    # shellcheck disable=SC2086 # a rule is a list of iptables words
    iptables ${rule/-A/-D}
  done < <(iptables -S DOCKER-USER 2>/dev/null | grep -- '--comment vs-samlocal' || true)
}

stop_own_dockerd() {
  local pid
  pid=$(cat "$started_marker")
  if kill -0 "$pid" 2>/dev/null; then
    # SAM rebuilds its per-function image on every invoke; the replaced ones are dangling.
    docker image prune --force >/dev/null 2>&1 || true
    kill -TERM "$pid"
    for _ in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "containers_down: dockerd ($pid) did not stop within 30 s; see $state_dir/dockerd.log" >&2
      exit 1
    fi
    echo "containers_down: stopped dockerd ($pid)"
  fi
  remove_forwarding_guard
  rm -f "$started_marker"
}

if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  remove_tier_objects
fi
if [[ -f $started_marker ]]; then
  stop_own_dockerd
fi
