# doorstep — developer entry points.
#
#   make run        set up, then convert fixtures/samples into out/
#   make test       set up, lint, then pytest -q   (extra args: PYTEST_ARGS="-k pdf -x")
#   make lint       ruff check, ruff format --check, mypy
#   make bench      python -m benchmarks
#   make fixtures   python -m fixtures.generate --samples
#   make clean      remove outputs, caches and build leftovers (keeps .venv)
#   make distclean  clean, and remove .venv too
#
# Set-up is idempotent: tesseract and chromium are checked on every run (cheap) and installed
# with apt-get only when missing; the virtualenv is (re)installed only when
# pyproject.toml is newer than the stamp $(VENV)/.installed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON      ?= python3
VENV        ?= .venv
BIN         := $(VENV)/bin
STAMP       := $(VENV)/.installed
SAMPLES     ?= fixtures/samples
OUT         ?= out
PYTEST_ARGS ?=
# Test processes: one per core (OCR is the slow part and runs in tesseract subprocesses).
TEST_WORKERS ?= $(shell nproc 2>/dev/null || echo 2)

APT_PACKAGES := tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd chromium chromium-driver

# Telemetry off, and one OpenMP thread per tesseract (doorstep parallelises itself).
export DO_NOT_TRACK := 1
export SCARF_NO_ANALYTICS := true
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export OMP_THREAD_LIMIT := 1

.PHONY: help setup system-deps venv run test lint bench fixtures clean distclean

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

## ---------------------------------------------------------------- set-up

setup: system-deps venv

# tesseract with the eng and osd language data, and chromium + chromedriver for
# the review page's browser test. `--list-langs` prints to stdout on tesseract 5
# and to stderr on 4, hence 2>&1.
system-deps:
	@have_deps() { \
	  command -v tesseract >/dev/null 2>&1 || return 1; \
	  langs="$$(tesseract --list-langs 2>&1)" || return 1; \
	  grep -qx eng <<<"$$langs" && grep -qx osd <<<"$$langs" || return 1; \
	  [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; \
	}; \
	if have_deps; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo ">> installing $(APT_PACKAGES)"; \
	  apt-get update; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(APT_PACKAGES); \
	  have_deps || { echo "error: tesseract with eng+osd, chromium or chromedriver is still not usable after apt-get install" >&2; exit 1; }; \
	else \
	  echo "error: tesseract with the eng and osd language data, chromium or chromedriver is missing. Install them with:" >&2; \
	  echo "" >&2; \
	  echo "    sudo apt-get install $(APT_PACKAGES)" >&2; \
	  echo "" >&2; \
	  exit 1; \
	fi

venv: $(STAMP)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null || { \
	  ver="$$($(PYTHON) --version 2>&1)" || ver="not installed"; \
	  echo "error: doorstep needs Python >= 3.11, but '$(PYTHON)' is: $$ver" >&2; \
	  echo "       Install a newer Python, or point the Makefile at one: make PYTHON=python3.12 ..." >&2; \
	  exit 1; }
	@if ! $(PYTHON) -c 'import ensurepip, venv' >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo ">> installing python3-venv"; \
	    apt-get update; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv; \
	  else \
	    echo "error: '$(PYTHON) -m venv' is not available. Install it with:" >&2; \
	    echo "" >&2; \
	    echo "    sudo apt-get install python3-venv" >&2; \
	    echo "" >&2; \
	    exit 1; \
	  fi; \
	fi
	$(PYTHON) -m venv $(VENV)

# Order-only on the interpreter: only pyproject.toml changes trigger a re-install.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/pip install -e '.[dev]'
	@touch $@

## ---------------------------------------------------------------- work

run: setup | $(SAMPLES)
	$(BIN)/doorstep run $(SAMPLES) -o $(OUT)

# Generate the sample documents only when they are not there yet.
$(SAMPLES): | venv
	$(BIN)/python -m fixtures.generate --samples

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: setup lint
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

bench: setup
	$(BIN)/python -m benchmarks

fixtures: venv
	$(BIN)/python -m fixtures.generate --samples

## ---------------------------------------------------------------- tidy

clean:
	rm -rf $(OUT) build dist *.egg-info .bench fixtures/generated \
	       .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
