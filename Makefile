# Every target bootstraps .venv by itself: a fresh machine needs only Python (3.13 preferred, >= 3.11).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCKED := $(VENV)/.locked
# Every installed distribution comes from a hashed lock (`make lock` writes them from the .in files):
# the layer's runtime packages plus the dev tools in .venv, the SAM CLI in .sam-venv.
RUNTIME_LOCK := layers/common/requirements.txt
DEV_LOCK := requirements-dev.txt
SAM_LOCK := requirements-sam.txt
LOCKS := $(RUNTIME_LOCK):layers/common/requirements.in $(DEV_LOCK):requirements-dev.in $(SAM_LOCK):requirements-sam.in
# Wheels only: an sdist would be built with build dependencies that no hash checks.
PIP_LOCKED := pip install --quiet --disable-pip-version-check --require-hashes --only-binary :all:
# One universal resolution (any OS/arch; markers keep it right on Python 3.11-3.13), from PyPI.
# LOCK_FLAGS: e.g. --upgrade-package certifi (or --upgrade) to move unpinned transitive versions.
LOCK_FLAGS ?=
UV_COMPILE = $(VENV)/bin/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
  --custom-compile-command 'make lock' $(LOCK_FLAGS)
# The SAM CLI lives in a venv of its own: its pins clash with the project's.
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

.PHONY: help venv demo test test-pg15 lint typecheck cfn bench build migrate clean lock lock-check

help:
	@echo "make demo   - run the local cloud demo (embedded PostgreSQL, real handlers)"
	@echo "make test   - lint, type-check, validate the template, run every test"
	@echo "make bench  - run the benchmarks in bench/ and print their tables"
	@echo "make build  - sam build (needs the SAM CLI)"
	@echo "make lock   - recompile the hashed lock files from the .in files"

venv: $(STAMP)

# A changed lock rebuilds the venv from scratch (--clear), so nothing outside the locks stays installed.
$(LOCKED): $(RUNTIME_LOCK) $(DEV_LOCK)
	@py=$$($(find_python)); echo "bootstrapping $(VENV) with $$py ($$($$py --version))"; \
	  "$$py" -m venv --clear $(VENV)
	$(PY) -m $(PIP_LOCKED) -r $(RUNTIME_LOCK) -r $(DEV_LOCK)
	@touch $@

# The project itself on top, editable: no dependency resolution, the build backend from the dev lock.
# pip check fails if requirements.in (the project's dependencies) was edited without `make lock`.
$(STAMP): $(LOCKED) pyproject.toml layers/common/requirements.in
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@$(PY) -m pip check --disable-pip-version-check >/dev/null || { $(PY) -m pip check || echo "run make lock"; exit 1; }
	@touch $@

# Each lock is compiled into a copy (uv keeps the versions it already holds unless their .in pin
# changed or LOCK_FLAGS says --upgrade...), then $(1) runs with "$lock" (the file) and "$new" (the copy).
# The runtime lock comes first: the dev lock is constrained by it.
define compile_locks
tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
for l in $(LOCKS); do lock=$${l%%:*}; src=$${l#*:}; new="$$tmp/$$(echo "$$lock" | tr / _)"; \
  echo "uv pip compile $$src -o $$lock"; [ ! -f "$$lock" ] || cp "$$lock" "$$new"; \
  $(UV_COMPILE) "$$src" -o "$$new"; $(1); done
endef

# An unchanged lock is not rewritten, so its venv is not rebuilt.
lock: $(LOCKED)
	@$(call compile_locks,cmp -s "$$new" "$$lock" || { cp "$$new" "$$lock"; echo "  $$lock changed"; })

# Needs the index (or LOCK_FLAGS=--offline and uv's cache). Not part of make test: a wheel uploaded
# later to an already locked release would fail it. tests/unit/test_locks.py checks offline.
lock-check: $(LOCKED)
	@stale=0; $(call compile_locks,diff -u "$$lock" "$$new" || stale=1); \
	[ $$stale = 0 ] || { echo "a lock file is stale: run make lock"; exit 1; }

# DEMO_ARGS: the demo's flags, e.g. make demo DEMO_ARGS='--inboxes 4 --domains 2' (see --help).
DEMO_ARGS ?=
demo: $(STAMP)
	$(PY) -m local demo $(DEMO_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Every function folder holds a module named `app`: check each on its own so they never collide.
typecheck: $(STAMP)
	$(VENV)/bin/mypy layers/common/inboxfleet local bench tests
	@for f in $(FUNCTIONS); do echo "mypy $$f"; $(VENV)/bin/mypy $$f; done

$(SAM): $(SAM_LOCK)
	@py=$$($(find_python)); "$$py" -m venv --clear $(SAM_VENV)
	$(SAM_VENV)/bin/python -m $(PIP_LOCKED) -r $(SAM_LOCK)
	@touch $@

cfn: $(STAMP) $(SAM)
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM_ENV) $(SAM) validate --lint
	$(PY) -m local.statelint_check

test: lint typecheck cfn
	$(PY) -m pytest -q

# The suite again on PostgreSQL 15, Nile's version (Debian: apt-get install postgresql-15).
PG15_BINDIR ?= /usr/lib/postgresql/15/bin
test-pg15: $(STAMP)
	@[ -x $(PG15_BINDIR)/postgres ] || { echo "no PostgreSQL 15 at $(PG15_BINDIR): apt-get install postgresql-15"; exit 1; }
	PG_BINDIR=$(PG15_BINDIR) $(PY) -m pytest -q

# Each benchmark runs as a module from the repo root (bench.bench_x), so it imports local/ as a package.
bench: $(STAMP)
	@for m in $(patsubst %.py,%,$(subst /,.,$(wildcard bench/bench_*.py))); do \
	  echo; echo "== $$m"; $(PY) -m $$m; done

# sam build needs the runtime's python3.13 on PATH: the venv's interpreter is one.
# It packs the layer with that interpreter's pip from the hashed layers/common/requirements.txt. Its
# first, hash-checked `pip download -r` fetches wheels for the build machine; on a non-arm64 machine
# it then fetches the native arm64 wheels again by name==version, unchecked. LAYER_PIP makes the
# first download fetch the Lambda's wheels (CPython 3.13, manylinux arm64 = the layer's
# BuildArchitecture), so every wheel is hash-checked, and an unchecked fetch fails the build.
LAYER_PIP := PIP_REQUIRE_HASHES=1 PIP_ONLY_BINARY=:all: PIP_IMPLEMENTATION=cp PIP_PYTHON_VERSION=3.13 \
  PIP_ABI=cp313 PIP_PLATFORM='manylinux2014_aarch64 manylinux_2_28_aarch64 manylinux_2_34_aarch64'
build: $(STAMP) $(SAM)
	$(SAM_ENV) $(LAYER_PIP) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(SAM) build

migrate: $(STAMP)
	$(PY) -m inboxfleet.db migrate

clean:
	rm -rf $(VENV) $(SAM_VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis .aws-sam
