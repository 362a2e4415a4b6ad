# shellcheck shell=bash
# Sourced by the image build scripts: a fresh work folder removed on exit, and failing with the end
# of a step's log.

# fresh_work_dir DIR: empty DIR now, and remove it when the build script exits.
fresh_work_dir() {
  rm -rf "$1"
  mkdir -p "$1"
  # shellcheck disable=SC2064  # expand now: the path is fixed for the script's lifetime
  trap "rm -rf '$1'" EXIT
}

# show_log LOG STEP: print the end of LOG and fail, naming STEP.
show_log() {
  tail -n 30 "$1" >&2
  echo "$2 failed (the end of its log is above)" >&2
  exit 1
}
