# Every target bootstraps .venv by itself: a fresh machine needs only Python (3.13 preferred, >= 3.11).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The SAM CLI lives in a venv of its own: its pins clash with the project's.
SAM_VERSION := 1.170.0
SAM_VENV := .sam-venv
SAM := $(SAM_VENV)/bin/sam
SAM_ENV := SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=offline AWS_SECRET_ACCESS_KEY=offline
FUNCTIONS := $(wildcard functions/*/app.py)

# The first interpreter that really runs (pyenv shims exist but fail when not selected) and is >= 3.11.
define find_python
for c in python3.13 $$HOME/.pyenv/versions/3.13*/bin/python3.13 /usr/local/bin/python3.13 \
         /usr/bin/python3.13 python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12 python3; do \
  if "$$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then echo "$$c"; exit 0; fi; \
done; echo "no Python >= 3.11 found" >&2; exit 1
endef

.PHONY: help venv demo test test-pg15 lint typecheck cfn bench build migrate clean

help:
	@echo "make demo   - run the local cloud demo (embedded PostgreSQL, real handlers)"
	@echo "make test   - lint, type-check, validate the template, run every test"
	@echo "make bench  - run the benchmarks in bench/ and print their tables"
	@echo "make build  - sam build (needs the SAM CLI)"

venv: $(STAMP)

$(STAMP): pyproject.toml layers/common/requirements.txt
	@py=$$($(find_python)); echo "bootstrapping $(VENV) with $$py ($$($$py --version))"; \
	  [ -x $(PY) ] || "$$py" -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

demo: $(STAMP)
	$(PY) -m local.demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Every function folder holds a module named `app`: check each on its own so they never collide.
typecheck: $(STAMP)
	$(VENV)/bin/mypy layers/common/inboxfleet local bench tests
	@for f in $(FUNCTIONS); do echo "mypy $$f"; $(VENV)/bin/mypy $$f; done

$(SAM):
	@py=$$($(find_python)); "$$py" -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check aws-sam-cli==$(SAM_VERSION)

cfn: $(STAMP) $(SAM)
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM_ENV) $(SAM) validate --lint

test: lint typecheck cfn
	$(PY) -m pytest -q

# The suite again on PostgreSQL 15, Nile's version (Debian: apt-get install postgresql-15).
PG15_BINDIR ?= /usr/lib/postgresql/15/bin
test-pg15: $(STAMP)
	@[ -x $(PG15_BINDIR)/postgres ] || { echo "no PostgreSQL 15 at $(PG15_BINDIR): apt-get install postgresql-15"; exit 1; }
	PG_BINDIR=$(PG15_BINDIR) $(PY) -m pytest -q

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo; echo "== $$b"; $(PY) $$b; done

# sam build needs the runtime's python3.13 on PATH: the venv's interpreter is one.
build: $(STAMP) $(SAM)
	$(SAM_ENV) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(SAM) build

migrate: $(STAMP)
	$(PY) -m inboxfleet.db migrate

clean:
	rm -rf $(VENV) $(SAM_VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis .aws-sam
