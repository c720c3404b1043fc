# Two commands on a fresh machine (Python 3.11): `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint format serve clean-db help

help:
	@echo "make run   - set up .venv, migrate, load demo data if empty, serve on http://$(HOST):$(PORT)"
	@echo "make test  - set up .venv with dev extras, ruff check, pytest with coverage (SQLite; also PostgreSQL if JIFA_TEST_DATABASE_URL is set)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/jifa db upgrade
	$(BIN)/jifa demo load --if-empty
	@echo "纪法知识测试系统: http://$(HOST):$(PORT)"
	$(BIN)/jifa serve --host $(HOST) --port $(PORT)

# Coverage (lines and branches, [tool.coverage] in pyproject.toml) is measured on the
# first run: SQLite, the whole suite with the browser tests. The floor is the figure of
# 2026-11-29 rounded down (91.9 % in CI, with a PostgreSQL server; a few tests that need
# one skip without it, ~0.1 point less): raise it when coverage rises, never lower it. The PostgreSQL run repeats the
# suite without coverage (the same code; measuring it again would only cost time).
COV_FLOOR = 91

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/python -m pytest --cov --cov-report=term --cov-fail-under=$(COV_FLOOR)
	@if [ -n "$$JIFA_TEST_DATABASE_URL" ]; then \
		echo "== the suite again on PostgreSQL ($$JIFA_TEST_DATABASE_URL) =="; \
		JIFA_TEST_BACKEND=postgresql $(BIN)/python -m pytest -m "not browser"; \
	fi

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean-db:
	rm -f instance/jifa.sqlite3 instance/jifa.sqlite3-wal instance/jifa.sqlite3-shm
