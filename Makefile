# almlink: `make run` for the demo, `make test` for the suite. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8000
EMULATOR_PORT ?= 8765
# apt-get needs root; use sudo when we are not.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-only lint bench screenshots emulator clean help

help:
	@echo "make run          the app on SQLite with the demo Azure DevOps emulator (http://127.0.0.1:$(PORT))"
	@echo "                  other ports: make run PORT=8001 EMULATOR_PORT=8102"
	@echo "make test         install test requirements and Chromium, run the whole suite"
	@echo "make lint         ruff and mypy"
	@echo "make bench        the benchmark (prints a table, writes bench/results.json)"
	@echo "make screenshots  README screenshots from the browser tests"
	@echo "make emulator     the Azure DevOps emulator alone on port $(EMULATOR_PORT)"

$(PY):
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { echo "Installing python3-venv"; $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	@$(PIP) install -q --upgrade pip

$(VENV)/.run-deps: requirements.txt | $(PY)
	$(PIP) install -q -r requirements.txt
	@touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install -q -r requirements-dev.txt
	@touch $@ $(VENV)/.run-deps

.env: | $(PY)
	$(PY) scripts/make_dev_env.py > .env
	@echo "Wrote development settings to .env (git-ignored)."

/usr/bin/chromium:
	$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

# The app reads .env only when asked to (development); production sets real environment variables.
run emulator: export DJANGO_READ_DOT_ENV_FILE = true

# run_dev.sh migrates, seeds the demo connection at http://127.0.0.1:$(EMULATOR_PORT)/fabrikam and starts both.
run: $(VENV)/.run-deps .env
	@PORT=$(PORT) EMULATOR_PORT=$(EMULATOR_PORT) PY=$(PY) scripts/run_dev.sh

emulator: $(VENV)/.run-deps .env
	$(PY) manage.py ado_emulator --port $(EMULATOR_PORT)

test: $(VENV)/.dev-deps /usr/bin/chromium test-only

test-only:
	$(VENV)/bin/pytest

lint: $(VENV)/.dev-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: $(VENV)/.dev-deps
	$(PY) -m bench

screenshots: $(VENV)/.dev-deps /usr/bin/chromium
	SCREENSHOTS_DIR=docs/screenshots $(VENV)/bin/pytest tests/browser -q

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache .mypy_cache
