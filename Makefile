# The README's two commands are `make run` and `make test`; everything else is for developers.
# Needs only python3 (3.11+) and make: uv is bootstrapped into .tools/, the project into .venv/.

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: run test lint typecheck protos protos-check test-unit test-workflow test-integration test-e2e \
        bench replay-311 clean-data env help

help:
	@echo "make run    start the whole system on the embedded default and print its URLs"
	@echo "make test   run the full test suite (lint, types, unit, workflow, integration, e2e)"

$(UV):
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# The environment is (re)synced from the lock file whenever pyproject.toml or uv.lock change.
# Bytecode is compiled at install: with PYTHONDONTWRITEBYTECODE set (CI, containers) every
# process of the stack would otherwise compile its imports from source at each start.
$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --compile-bytecode --python $(PYTHON)
	@touch $@

# Our own code's bytecode as well (only what changed since the last run is compiled).
env: $(VENV)/.synced
	@$(PY) -m compileall -q services workflows devstack

run: env
	$(PY) -m devstack run

lint: env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: env
	$(VENV)/bin/mypy

protos: env
	$(PY) scripts/gen_protos.py

protos-check: env
	$(PY) scripts/gen_protos.py --check

test-unit: env
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

test-workflow: env
	$(PY) -m pytest tests/workflow $(PYTEST_ARGS)

test-integration: env
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

test-e2e: env
	$(PY) -m pytest tests/e2e $(PYTEST_ARGS)

test: env lint typecheck protos-check
	$(PY) -m pytest tests/unit tests/workflow tests/integration tests/e2e $(PYTEST_ARGS)

# Benchmarks print figures and assert nothing about timing; never part of `make test`.
bench: env
	$(PY) -m pytest tests/bench -s --timeout=1800 $(PYTEST_ARGS)

# Replay a CSV of 311 requests onto a running system (`make run`): make replay-311 FILE=x.csv [RATE=50]
FILE ?= tests/fixtures/nyc311/nyc311_sample_2024-04-15.csv
RATE ?= 0
replay-311: env
	$(PY) -m services.intake.tools.replay_311 $(FILE) --rate $(RATE)

clean-data:
	rm -rf .data
