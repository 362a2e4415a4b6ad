#!/usr/bin/env bash
# One idempotent set-up step: system packages, .venv (project + tests) and .venv-sam (SAM CLI).
# A second run with unchanged requirements returns in a second.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
APT_PACKAGES=(ffmpeg espeak-ng)

need_apt=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if ((${#need_apt[@]})); then
  echo "setup: apt-get install ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# venv DIR IN_FILE LOCK_FILE [extra pip args...]: create DIR and install IN_FILE pinned by LOCK_FILE,
# unless the stamp says exactly these inputs are installed already.
venv() {
  local dir=$1 spec=$2 lock=$3
  shift 3
  local stamp="$dir/.setup-stamp"
  local digest
  digest=$(cat "$spec" "$lock" pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
  if [[ -f $stamp && $(cat "$stamp") == "$digest" ]]; then
    return
  fi
  echo "setup: installing $spec into $dir"
  [[ -x $dir/bin/python ]] || "$PYTHON" -m venv "$dir"
  "$dir/bin/pip" install -q --upgrade pip
  "$dir/bin/pip" install -q -r "$spec" -c "$lock" "$@"
  echo "$digest" >"$stamp"
}

venv .venv requirements/dev.in requirements/lock.txt -e . --no-build-isolation
venv .venv-sam requirements/sam.in requirements/sam-lock.txt
echo "setup: ready (.venv, .venv-sam)"
