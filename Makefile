# Developer and CI entry points. `make test` is what CI runs (via .ci/run).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Re-install only when the dependency declarations change; plain re-runs skip pip entirely.
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv constraints run test check typecheck lint format bench

help:
	@echo "make venv         create $(VENV) and install the project with its dev dependencies"
	@echo "make run          migrate, load demo data and serve on http://127.0.0.1:8000"
	@echo "make test         lint, format check, mypy, migrations check, pytest (what CI runs)"
	@echo "make check        the fast loop (< 1 min): lint, format check, mypy, unit + domain tests"
	@echo "make typecheck    mypy (django-stubs + djangorestframework-stubs; see pyproject.toml)"
	@echo "make lint         ruff check + ruff format --check"
	@echo "make format       ruff format + ruff check --fix"
	@echo "make bench        run the benchmarks"
	@echo "make constraints  re-pin constraints.txt from what $(VENV) has installed"

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@if [ ! -x $(BIN)/python ]; then echo "==> creating $(VENV) with $(PY)"; $(PY) -m venv $(VENV); fi
	@echo "==> installing alarmhub[dev] pinned by constraints.txt"
	$(BIN)/python -m pip install --disable-pip-version-check --quiet -e '.[dev]' -c constraints.txt
	@touch $@

# Pins every installed distribution except the project itself (pip cannot constrain an editable).
constraints:
	$(BIN)/python -m pip freeze --disable-pip-version-check --exclude-editable \
		| grep -v -i -E '^alarmhub( |==|@)' > constraints.txt
	@echo "==> wrote constraints.txt ($$(wc -l < constraints.txt) pins)"

# `make run PORT=8123 HOST=0.0.0.0`: the printed URLs follow (0.0.0.0 is reached as 127.0.0.1).
# HOST is taken from the command line only: some shells export HOST as the machine's name.
HOST = 127.0.0.1
PORT ?= 8000
BASE_URL = http://$(if $(filter 0.0.0.0,$(HOST)),127.0.0.1,$(HOST)):$(PORT)
run: venv
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py bootstrap_demo --base-url $(BASE_URL)
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

# No web, browser or integration tests: the layers that need no client, server or service.
check: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest tests/unit tests/domain -q $(PYTEST_ARGS)

# Files and strictness come from [tool.mypy] in pyproject.toml; .mypy_cache keeps re-runs fast.
typecheck: venv
	$(BIN)/mypy

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Throwaway PostgreSQL + Redis + gunicorn + Celery on 127.0.0.1; e.g. BENCH_ARGS="--quick",
# ALARMS=1000000 (the large size). Writes benchmarks/results/<date>.json and .md.
BENCH_ARGS ?=
ALARMS ?=
bench: venv
	$(BIN)/python -m benchmarks $(if $(ALARMS),--alarms $(ALARMS)) $(BENCH_ARGS)
