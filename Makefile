# The two commands of the README: `make site` and `make test`. Both set up .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
WEBSTAMP := web/node_modules/.installed-stamp

.PHONY: setup site serve test test-fast check lint bench clean browser

setup: $(STAMP) $(WEBSTAMP)

# torch first and pinned: the CPU wheel lies on disk; an unpinned one pulls gigabytes of CUDA.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
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

check: setup
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
