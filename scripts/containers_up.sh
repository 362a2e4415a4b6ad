#!/usr/bin/env bash
# Set-up of the container tier (`sam local invoke`, tests/samlocal): Debian's docker engine, a dockerd
# of our own when none answers, and the images the tier runs, built here because no image registry
# can be reached: the Lambda python3.11 base image (tagged as SAM looks it up, so that
# `sam local invoke --skip-pull-image` uses it) and a moto server image.
# Idempotent: a second run only checks, and rebuilds an image only when its inputs changed.
# scripts/containers_down.sh undoes what this started.
#
# Environment: VS_DOCKER_STATE_DIR (data root, log; default /var/lib/vs-docker),
# VS_DOCKER_RUN_DIR (pid file, exec root; default /run/vs-docker), VS_DEBIAN_MIRROR (default: the
# first Debian mirror of this machine's apt sources).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
state_dir=${VS_DOCKER_STATE_DIR:-/var/lib/vs-docker}
run_dir=${VS_DOCKER_RUN_DIR:-/run/vs-docker}
started_marker="$run_dir/started-by-containers-up"

# The repository and tag SAM derives for runtime python3.11 on x86_64
# (samcli.local.docker.lambda_image: LambdaImage._INVOKE_REPO_PREFIX + Runtime.get_image_name_tag).
lambda_image=public.ecr.aws/lambda/python:3.11-x86_64
lambda_repo=video-sentiment/lambda-python3.11
moto_repo=video-sentiment/moto
moto_image="$moto_repo:server"

t_start=$(date +%s%N)
timings=()

elapsed_since() {
  local ms=$((($(date +%s%N) - $1) / 1000000))
  printf '%d.%01ds' $((ms / 1000)) $((ms % 1000 / 100))
}

fail() {
  echo "containers_up: $*" >&2
  exit 1
}

ensure_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  ((${#missing[@]} == 0)) && return 0
  echo "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null || fail "apt-get update failed"
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
    fail "apt-get install ${missing[*]} failed"
}

docker_answers() {
  docker info >/dev/null 2>&1
}

ensure_dockerd() {
  if docker_answers; then
    echo "dockerd: one is running already"
    return 0
  fi
  [[ -z ${DOCKER_HOST:-} ]] || fail "DOCKER_HOST=$DOCKER_HOST does not answer; unset it to start a local dockerd"
  mkdir -p "$state_dir" "$run_dir"
  echo "dockerd: starting (data root $state_dir/data, log $state_dir/dockerd.log)"
  # --ip-forward=false and --ip-masq=false: containers reach the host and each other on their bridges,
  # and nothing beyond this machine. setsid and closed descriptors let it outlive this script.
  setsid dockerd \
    --data-root "$state_dir/data" \
    --exec-root "$run_dir/exec" \
    --pidfile "$run_dir/dockerd.pid" \
    --host unix:///var/run/docker.sock \
    --ip-forward=false --ip-masq=false \
    </dev/null >>"$state_dir/dockerd.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$started_marker"
  for _ in $(seq 1 120); do
    if docker_answers; then
      guard_forwarding
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$started_marker"
      tail -n 30 "$state_dir/dockerd.log" >&2
      fail "dockerd exited at start (log above)"
    fi
    sleep 0.5
  done
  tail -n 30 "$state_dir/dockerd.log" >&2
  fail "dockerd did not answer within 60 s (log above)"
}

# Forwarded traffic that enters from a docker bridge may only leave to the same bridge: containers
# talk to the host and to each other, never through the host to any other address, even if
# something on this machine turns IPv4 forwarding on. Rules carry a comment so that
# containers_down.sh removes exactly these.
guard_rules=(
  "-i docker0 -o docker0 -j RETURN"
  "-i br-+ -o br-+ -j RETURN"
  "-i docker0 -j DROP"
  "-i br-+ -j DROP"
)

guard_forwarding() {
  local position=1 rule
  for rule in "${guard_rules[@]}"; do
    # shellcheck disable=SC2086 # a rule is a list of iptables words
    iptables -C DOCKER-USER $rule -m comment --comment vs-samlocal 2>/dev/null ||
      iptables -I DOCKER-USER "$position" $rule -m comment --comment vs-samlocal ||
      fail "could not add the forwarding guard to iptables' DOCKER-USER chain"
    position=$((position + 1))
  done
}

debian_mirror() {
  if [[ -n ${VS_DEBIAN_MIRROR:-} ]]; then
    echo "$VS_DEBIAN_MIRROR"
    return 0
  fi
  local uri
  uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i}' |
    grep -E '/debian/?$' | head -n 1 || true)
  if [[ -z $uri ]]; then
    uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) {print $i; break}}' |
      grep -E '/debian/?$' | head -n 1 || true)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

hash_of() {
  # Content hash of files and literal strings, in the order given.
  local item
  for item in "$@"; do
    if [[ -f $item ]]; then
      printf '%s\n' "${item#"$root"/}"
      cat "$item"
    else
      printf '%s\n' "$item"
    fi
  done | sha256sum | cut -c1-16
}

image_exists() {
  docker image inspect "$1" >/dev/null 2>&1
}

remove_other_tags() {
  # Older builds of one repository, so that disk use stays bounded across input changes.
  local repo=$1 keep=$2 ref
  for ref in $(docker image ls --format '{{.Repository}}:{{.Tag}}' "$repo"); do
    [[ $ref == "$repo:$keep" || $ref == "$moto_image" ]] && continue
    docker image rm "$ref" >/dev/null 2>&1 || true
  done
}

ensure_lambda_image() {
  local mirror hash
  mirror=$(debian_mirror)
  hash=$(hash_of "$root/docker/build_lambda_base.sh" "$root/docker/build_common.sh" \
    "$root"/docker/lambda-python/* "mirror=$mirror")
  lambda_hash=$hash
  if image_exists "$lambda_repo:$hash"; then
    echo "lambda image: $lambda_repo:$hash is up to date"
  else
    bash "$root/docker/build_lambda_base.sh" "$lambda_repo:$hash" "$hash" "$mirror" \
      "$state_dir/build/lambda-python"
    # SAM's derived images (the emulator added on top) were built from the previous base.
    docker image ls --format '{{.Repository}}:{{.Tag}}' |
      grep -E '^(public\.ecr\.aws/lambda/python:3\.11-rapid-|samcli/lambda-python:3\.11-)' |
      xargs -r docker image rm --force >/dev/null 2>&1 || true
    remove_other_tags "$lambda_repo" "$hash"
  fi
  docker tag "$lambda_repo:$hash" "$lambda_image"
}

ensure_moto_image() {
  local hash
  hash=$(hash_of "lambda=$lambda_hash" "$root/docker/build_moto.sh" "$root/docker/build_common.sh" \
    "$root"/docker/moto/* \
    "$root/requirements/lock.txt")
  if image_exists "$moto_repo:$hash"; then
    echo "moto image: $moto_repo:$hash is up to date"
  else
    bash "$root/docker/build_moto.sh" "$moto_repo:$hash" "$hash" "$lambda_repo:$lambda_hash" \
      "$root/requirements/lock.txt" "$state_dir/build/moto"
    remove_other_tags "$moto_repo" "$hash"
  fi
  docker tag "$moto_repo:$hash" "$moto_image"
}

step() {
  local name=$1 t0
  shift
  t0=$(date +%s%N)
  "$@"
  timings+=("$name $(elapsed_since "$t0")")
}

((EUID == 0)) || fail "needs root (apt-get, dockerd); run it as root or with sudo"
cd "$root"
step packages ensure_packages
step dockerd ensure_dockerd
step lambda-image ensure_lambda_image
step moto-image ensure_moto_image

echo "images: $lambda_image ($lambda_repo:$lambda_hash), $moto_image"
echo "containers_up: $(printf '%s; ' "${timings[@]}")total $(elapsed_since "$t_start")"
