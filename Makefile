# Skuldkoll: `make demo` serves the portals on the embedded default; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export PORT
LOCK := requirements/lock.txt
LOCK_PROD := requirements/lock-prod.txt
LOCK_PYTHON ?= $(PYTHON)
LOCK_VENV := $(VENV)/pip-tools
PIP_TOOLS := pip-tools==7.6.2
PIP_COMPILE := $(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
  --strip-extras --no-emit-index-url --no-emit-find-links

.PHONY: demo serve test test-fast lock lint worker cron migrate demo-data e2e bench bench-data htmx i18n translations audit-verify clean

# The dependencies come from the lock (exact versions, checked against their hashes), the
# project itself without them. pip check fails when pyproject.toml asks for something the
# lock lacks: then run `make lock`. The build backend (setuptools) is pinned in the lock too.
$(BIN)/.installed: $(LOCK) pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check || { echo "$(LOCK) does not satisfy pyproject.toml: run make lock" >&2; exit 1; }
	touch $@

## lock: re-resolve $(LOCK) (everything `.[dev]` needs) and $(LOCK_PROD) (runtime only, the
## same versions) from pyproject.toml with pip-compile, keeping the pins that still fit;
## `make lock UPGRADE=1` moves every package to its newest allowed version. Python 3.11.
lock:
	$(LOCK_PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
	  || { echo "make lock: the locks are for Python 3.11 (LOCK_PYTHON=python3.11)" >&2; exit 1; }
	test -x $(LOCK_VENV)/bin/pip-compile || { $(LOCK_PYTHON) -m venv $(LOCK_VENV) \
	  && $(LOCK_VENV)/bin/python -m pip install --quiet --upgrade pip '$(PIP_TOOLS)'; }
	CUSTOM_COMPILE_COMMAND="make lock" $(PIP_COMPILE) $(if $(UPGRADE),--upgrade) \
	  --extra dev --build-deps-for editable --output-file $(LOCK) pyproject.toml
	CUSTOM_COMPILE_COMMAND="make lock" $(PIP_COMPILE) -c $(LOCK) \
	  --build-deps-for wheel --output-file $(LOCK_PROD) pyproject.toml

translations: $(BIN)/.installed
	@bash scripts/i18n.sh compile

migrate: $(BIN)/.installed
	$(BIN)/alembic upgrade head

demo-data: migrate
	$(BIN)/skuldkoll demo-data

## demo: set up everything and serve all portals on http://127.0.0.1:$(PORT)
demo: translations demo-data
	$(BIN)/python wsgi.py

## test: set up everything and run the whole suite
test: translations
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	bash scripts/i18n.sh check
	$(BIN)/pytest

test-fast: translations
	$(BIN)/pytest -m "not e2e" -x -q

e2e: translations
	$(BIN)/pytest -m e2e

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

## worker: RQ worker pool and rq cron (needs REDIS_URL)
worker: $(BIN)/.installed
	$(BIN)/python -m worker

audit-verify: $(BIN)/.installed
	$(BIN)/skuldkoll audit-verify

## bench: the page benchmarks (docs/benchmarks.md) on BENCH_DATABASE_URL (make bench-data)
## beside BENCH_DEMO_DATABASE_URL (generated at the demo scale when missing);
## BENCH_ARGS="--clients 10 --seconds 5" and the like (python -m bench --help)
BENCH_DEMO_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/skuldkoll_bench_demo
export BENCH_DEMO_DATABASE_URL
bench: $(BIN)/.installed
	$(BIN)/python -m bench $(BENCH_ARGS)

## bench-data: a PostgreSQL database of bench data (bench/generate.py): SCALE=demo|small|default|large,
## REPLACE=1 drops the database first
BENCH_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/skuldkoll_bench
export BENCH_DATABASE_URL
bench-data: $(BIN)/.installed
	$(BIN)/python -m bench.generate --database-url $(BENCH_DATABASE_URL) --scale $(or $(SCALE),default) $(if $(REPLACE),--replace)

htmx:
	bash scripts/fetch-htmx.sh

i18n: $(BIN)/.installed
	bash scripts/i18n.sh extract && bash scripts/i18n.sh update

clean:
	rm -rf $(VENV) instance .pytest_cache
