# The two commands: `make run` (the demo stack) and `make test` (lint, types, every test).
PY ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint types security audit browser venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PY)" || { echo "Python 3.11+ is required"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/python app.py run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy incidents geo realtime dashboard app.py

# High-severity findings fail the build. The medium ones bandit reports (B608) are SQL text
# built from constant column lists of the structs; every value goes in as a bound parameter.
security: $(STAMP)
	$(BIN)/bandit -q -r incidents geo realtime dashboard app.py -lll

# Known vulnerabilities in the pinned dependencies (needs the package registry: not in `test`).
audit: $(STAMP)
	$(BIN)/python -m pip install -q "pip-audit>=2.7,<3"
	$(BIN)/pip-audit --progress-spinner off

# Debian's chromium when we may install it; else Playwright's own build where a network allows.
browser: $(STAMP)
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian chromium"; \
		(apt-get install -y -qq chromium >/dev/null 2>&1 || \
		 (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)) ; \
	else echo "browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium)" >&2; exit 1; fi

test: lint types security browser
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
