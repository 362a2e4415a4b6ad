#!/usr/bin/env bash
# Builds the moto server image on top of the Lambda base image: moto[server] is pip-installed on the
# host (versions from requirements/lock.txt) and copied in, so the build runs no networked step.
#
# Usage: build_moto.sh IMAGE_TAG INPUTS_HASH BASE_IMAGE LOCK_FILE WORK_DIR
set -euo pipefail

image_tag=$1
inputs_hash=$2
base_image=$3
lock_file=$4
work_dir=$5

here=$(cd "$(dirname "$0")" && pwd)
src="$here/moto"

# shellcheck source=docker/build_common.sh
source "$here/build_common.sh"
fresh_work_dir "$work_dir"
cp "$src/Dockerfile" "$work_dir/Dockerfile"

echo "pip install moto[server] (constrained by $(basename "$lock_file"))"
python3 -m pip install --no-cache-dir --root-user-action=ignore --no-warn-conflicts \
  --no-compile --target "$work_dir/site" \
  --python-version 3.11 --implementation cp --abi cp311 \
  --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 --only-binary=:all: \
  -c "$lock_file" -r "$src/requirements.in" >"$work_dir/pip.log" 2>&1 ||
  show_log "$work_dir/pip.log" "pip install"

echo "docker build -> $image_tag"
# The legacy builder: the daemon is Debian's docker.io, with no BuildKit front end installed.
DOCKER_BUILDKIT=0 docker build --quiet --build-arg "BASE_IMAGE=$base_image" \
  --label "vs.inputs=$inputs_hash" --label vs.image=moto-server \
  --tag "$image_tag" "$work_dir" >"$work_dir/build.log" 2>&1 ||
  show_log "$work_dir/build.log" "docker build"
