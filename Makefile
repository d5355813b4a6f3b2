# Skuldkoll: `make demo` serves the portals on the embedded default; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export PORT

.PHONY: demo serve test test-fast lint worker cron migrate demo-data e2e bench htmx i18n translations audit-verify clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

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

bench: $(BIN)/.installed
	$(BIN)/python -m bench

htmx:
	bash scripts/fetch-htmx.sh

i18n: $(BIN)/.installed
	bash scripts/i18n.sh extract && bash scripts/i18n.sh update

clean:
	rm -rf $(VENV) instance .pytest_cache
