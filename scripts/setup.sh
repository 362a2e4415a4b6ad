#!/usr/bin/env bash
# One idempotent set-up step: system packages, .venv (project + tests), .venv-sam (SAM CLI) and
# .venv-checkov (checkov).
# A second run with unchanged requirements returns in a second.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
# chromium: the browser tier drives Debian's build (Playwright's own browser download is not used).
APT_PACKAGES=(ffmpeg espeak-ng chromium)

need_apt=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if ((${#need_apt[@]})); then
  echo "setup: apt-get install ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# pip_quiet DIR ARGS...: pip of venv DIR, without the mirror's harmless "Location … is ignored" noise.
pip_quiet() {
  local dir=$1
  shift
  "$dir/bin/pip" -q "$@" 2> >(grep -v "^WARNING: Location .* is ignored" >&2)
}

# venv DIR IN_FILE LOCK_FILE [editable]: create DIR and install IN_FILE pinned by LOCK_FILE (and this
# project in editable mode), unless the stamp says exactly these inputs are installed already.
venv() {
  local dir=$1 spec=$2 lock=$3 editable=${4:-}
  local stamp="$dir/.setup-stamp"
  local digest
  digest=$(cat "$spec" "$lock" pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
  if [[ -f $stamp && $(cat "$stamp") == "$digest" ]]; then
    return
  fi
  echo "setup: installing $spec into $dir"
  [[ -x $dir/bin/python ]] || "$PYTHON" -m venv "$dir"
  pip_quiet "$dir" install --upgrade pip
  pip_quiet "$dir" install -r "$spec" -c "$lock"
  if [[ -n $editable ]]; then
    pip_quiet "$dir" install --no-deps --no-build-isolation -e .
  fi
  echo "$digest" >"$stamp"
}

venv .venv requirements/dev.in requirements/lock.txt editable
venv .venv-sam requirements/sam.in requirements/sam-lock.txt
venv .venv-checkov requirements/checkov.in requirements/checkov-lock.txt
echo "setup: ready (.venv, .venv-sam, .venv-checkov)"
