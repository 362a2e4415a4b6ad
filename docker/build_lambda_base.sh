#!/usr/bin/env bash
# Builds the Lambda python3.11 base image from Debian packages, because no image registry can be
# reached here: a minbase bookworm root file system (its python3 is CPython 3.11), the runtime's
# Python packages pip-installed from the host into /var/runtime, and /var/runtime/bootstrap.
# The root file system is imported as a single-layer image, so the daemon needs no network.
#
# Usage: build_lambda_base.sh IMAGE_TAG INPUTS_HASH DEBIAN_MIRROR WORK_DIR
set -euo pipefail

image_tag=$1
inputs_hash=$2
mirror=$3
work_dir=$4

here=$(cd "$(dirname "$0")" && pwd)
src="$here/lambda-python"
rootfs="$work_dir/rootfs"

# shellcheck source=docker/build_common.sh
source "$here/build_common.sh"
fresh_work_dir "$work_dir"

packages=$(grep -v '^#' "$src/debian-packages.txt" | xargs | tr ' ' ',')
echo "debootstrap bookworm (minbase + $packages) from $mirror"
debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" "$mirror" \
  >"$work_dir/debootstrap.log" 2>&1 || show_log "$work_dir/debootstrap.log" debootstrap

echo "pip install the runtime's packages into /var/runtime"
# The wheels are chosen for the image's interpreter (CPython 3.11, glibc 2.36), not the host's.
python3 -m pip install --no-cache-dir --root-user-action=ignore --no-warn-conflicts \
  --no-compile --target "$rootfs/var/runtime" \
  --python-version 3.11 --implementation cp --abi cp311 \
  --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 --only-binary=:all: \
  -r "$src/requirements.txt" >"$work_dir/pip.log" 2>&1 || show_log "$work_dir/pip.log" "pip install"

install -m 0755 "$src/bootstrap" "$rootfs/var/runtime/bootstrap"
install -m 0755 "$src/lambda-entrypoint.sh" "$rootfs/lambda-entrypoint.sh"
mkdir -p "$rootfs/var/task" "$rootfs/opt" "$rootfs/var/lang/bin"
ln -sf /usr/bin/python3.11 "$rootfs/var/lang/bin/python3.11"
ln -sf python3.11 "$rootfs/var/lang/bin/python3"

# Package caches and documentation only make the image larger.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
  "$rootfs"/usr/share/doc "$rootfs"/usr/share/man "$rootfs"/usr/share/locale \
  "$rootfs"/usr/share/info "$rootfs"/var/log/*.log "$rootfs"/var/cache/debconf/*-old

echo "docker import -> $image_tag"
tar -C "$rootfs" --numeric-owner -cf - . | docker import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV TZ=:/etc/localtime' \
  --change 'ENV PATH=/var/lang/bin:/usr/local/bin:/usr/bin:/bin:/opt/bin' \
  --change 'ENV LD_LIBRARY_PATH=/var/lang/lib:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib' \
  --change 'ENV LAMBDA_TASK_ROOT=/var/task' \
  --change 'ENV LAMBDA_RUNTIME_DIR=/var/runtime' \
  --change 'WORKDIR /var/task' \
  --change 'ENTRYPOINT ["/lambda-entrypoint.sh"]' \
  --change "LABEL vs.inputs=$inputs_hash" \
  --change 'LABEL vs.image=lambda-python3.11' \
  - "$image_tag" >/dev/null
