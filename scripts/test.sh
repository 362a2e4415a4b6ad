#!/usr/bin/env bash
# The whole test suite: lint, then every tier. Prints one summary line; fails on lint errors or
# when pytest collects no test at all (exit 5).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
start=$(date +%s)

lint_rc=0
.venv/bin/ruff check . && .venv/bin/ruff format --check . || lint_rc=1

export PATH="$PWD/.venv-sam/bin:$PATH"
.venv/bin/python -m pytest "$@" | tee .pytest-output.txt
test_rc=${PIPESTATUS[0]}

summary=$(grep -E '^=+ .*(passed|failed|error).* =+$' .pytest-output.txt | tail -n 1 | tr -d '=')
rm -f .pytest-output.txt
echo "summary: lint $([[ $lint_rc == 0 ]] && echo clean || echo FAILED);${summary:- no tests ran}; $(($(date +%s) - start))s"
if ((test_rc == 5)); then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
((lint_rc == 0 && test_rc == 0))
