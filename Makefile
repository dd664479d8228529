# Developer and CI entry points. `make test` is what CI runs (via .ci/run).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Re-install only when the dependency declarations change; plain re-runs skip pip entirely.
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv constraints run test lint format bench

help:
	@echo "make venv         create $(VENV) and install the project with its dev dependencies"
	@echo "make run          migrate, load demo data and serve on http://127.0.0.1:8000"
	@echo "make test         lint, format check, migrations check, pytest (what CI runs)"
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

run: venv
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py bootstrap_demo
	$(BIN)/python manage.py runserver 127.0.0.1:8000

test: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Throwaway PostgreSQL + Redis + gunicorn + Celery on 127.0.0.1; e.g. BENCH_ARGS="--quick".
BENCH_ARGS ?=
bench: venv
	$(BIN)/python -m benchmarks $(BENCH_ARGS)
