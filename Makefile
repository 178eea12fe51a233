# The two commands of the README: `make site` and `make test`. Both set up .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
WEBSTAMP := web/node_modules/.installed-stamp

.PHONY: help setup site serve test test-fast check lint bench clean browser

help:
	@echo "make site       set up .venv, then build the whole site from entries/ into site/"
	@echo "make test       set up .venv, then the linters and every test (installs chromium when it can)"
	@echo "make test-fast  the tests that are neither slow nor in a browser"
	@echo "make check      kb check: every problem in every entry file"
	@echo "make serve      build, then serve the site on http://127.0.0.1:8000/"
	@echo "make lint       ruff and mypy"
	@echo "make bench      every benchmark of the README at full size (installs chromium when it can)"
	@echo "make setup      .venv with kb and its dependencies, and the site's JavaScript libraries"
	@echo "make clean      remove .venv, site/, the caches and web/node_modules"

setup: $(STAMP) $(WEBSTAMP)

# torch first and pinned: the CPU wheel lies on disk; an unpinned one pulls gigabytes of CUDA.
# A .venv of a Python too old (one a failed set-up with another PYTHON left) is made again.
$(STAMP): pyproject.toml
	$(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install -q --disable-pip-version-check torch==2.13.0
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# The site's JavaScript libraries: exact versions from web/package-lock.json, from the npm registry.
$(WEBSTAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $(WEBSTAMP)

# Browser tests drive Debian's chromium; install it when it is missing and we can, else say so loudly.
browser:
	@if command -v chromium >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "chromium is missing: installing it with apt-get"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "!!! could not install chromium: the browser tests will be SKIPPED"; \
	else \
	  echo "!!! chromium is missing and cannot be installed here: the browser tests will be SKIPPED"; \
	fi

check: $(STAMP)
	$(VENV)/bin/kb check

site: setup
	$(VENV)/bin/kb build

serve: setup
	$(VENV)/bin/kb serve

# Every test, browser and real-model ones included, after the linters (CI runs this).
test: setup browser lint
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not slow and not browser"

# Every benchmark of the README's "Benchmarks" at its full size, one after another (about four
# minutes on 2 cores); each prints a Markdown table. Give the machine to them: they measure.
bench: setup browser
	$(PY) tools/bench_check.py
	$(PY) tools/bench_cli.py
	$(PY) tools/bench_embed.py
	$(PY) tools/bench_build.py
	$(PY) tools/bench_web.py

lint: setup
	$(VENV)/bin/ruff check kb tests tools
	$(VENV)/bin/ruff format --check kb tests tools
	$(VENV)/bin/mypy kb tools

clean:
	rm -rf $(VENV) site .kb-cache .kb-build web/node_modules
