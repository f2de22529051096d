# Two-command set-up (see README): `make demo` runs the main job, `make test` runs the suite.
# Each creates .venv on first use and installs through constraints.txt (torch 2.13.0 CPU).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
PYTEST_ARGS ?=

.PHONY: demo test test-fast test-tools lint docs install install-dev benchmarks clean

$(VENV)/.installed: setup.cfg pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip setuptools wheel
	$(PIP) install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install --quiet -c constraints.txt -e ".[dev]"
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: $(VENV)/.installed
	$(VENV)/bin/lightsaber demo

lint: $(VENV)/.installed-dev
	$(PY) -m ruff check .

# Tools the tests need beyond Python packages: Debian's chromium (the headless report test).
# Installed when missing and running as root (CI); elsewhere the test skips, and under CI a
# skip fails (tests/conftest.py).
test-tools:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the report test"; \
	    apt-get install -y -q chromium >/dev/null 2>&1 || \
	      { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } || \
	      echo "could not install chromium: the headless report test will fail under CI" >&2; \
	  else echo "chromium not found (not root): the headless report test skips" >&2; fi; }

test: $(VENV)/.installed-dev test-tools
	$(PY) -m ruff check .
	$(PY) -m pytest $(PYTEST_ARGS) || { rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose" >&2; fi; \
	  exit $$rc; }

test-fast: $(VENV)/.installed-dev
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

docs: $(VENV)/.installed-dev
	$(VENV)/bin/mkdocs build --strict

benchmarks: $(VENV)/.installed-dev
	$(PY) benchmarks/ingest.py

clean:
	rm -rf $(VENV) build *.egg-info mlflow.db mlruns
