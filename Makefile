# The two commands of the README: `make site` and `make test`. Both set up .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: setup site test check lint clean

setup: $(STAMP)

# torch first and pinned: the CPU wheel lies on disk; an unpinned one pulls gigabytes of CUDA.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check torch==2.13.0
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

check: setup
	$(VENV)/bin/kb check

site: setup
	$(VENV)/bin/kb check

test: setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check kb tests tools
	$(VENV)/bin/mypy kb

clean:
	rm -rf $(VENV) site .kb-cache
