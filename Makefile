# The two commands of the README: `make report` and `make test`. Everything else is a helper target.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip

.PHONY: help env env-dev browser report test test-fast bench wheel-check clean

help:
	@echo "make report   build the environment and render the sample's next-quarter report into reports/"
	@echo "make test     build the environment (dev extras) and run the test suite"
	@echo "make bench    run every benchmark in bench/ and write bench/results/*.json"
	@echo "make wheel-check  build the wheel, install it in a fresh venv outside the checkout, run the report"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

# stamp files: reinstall when pyproject.toml changes
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(PIP) install -e ".[dev,dask]"
	touch $(VENV)/.installed $@

env: $(VENV)/.installed
env-dev: $(VENV)/.installed-dev

report: env
	$(BIN)/finops-forecast report --sample $(if $(QUARTER),--quarter $(QUARTER),)

# headless Chromium (Debian's package) for the test that opens report.html offline and screenshots it
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

# two pytest-xdist workers: the suite's budget is 6 minutes on 2 cores (one process: ~6 min, two: ~4)
test: env-dev browser
	$(BIN)/python -m pytest -n 2

test-fast: env-dev
	$(BIN)/python -m pytest -m "not slow"

bench: env-dev
	$(BIN)/python bench/run_all.py

wheel-check: env-dev
	$(BIN)/python tools/wheel_check.py

clean:
	rm -rf $(VENV) dist build *.egg-info
