# GeoCRM. Fresh machine: Python 3.11 and Node 20 (npm) — Node installs the map assets and eslint (make lint).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
export FLASK_APP := geocrm

.PHONY: run test bench lint install assets db demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

geocrm/static/vendor/.stamp: node_modules/.package-lock.json scripts/vendor_assets.sh
	./scripts/vendor_assets.sh

assets: geocrm/static/vendor/.stamp

db: install
	$(BIN)/flask db upgrade

demo: db
	$(BIN)/flask demo --if-empty

## make run: install, create the SQLite database, load the demo company, serve on 127.0.0.1:5000
run: install assets demo
	GEOCRM_TIMEZONE=$${GEOCRM_TIMEZONE:-Europe/Helsinki} $(BIN)/flask run --host $(HOST) --port $(PORT)

## make test: install and run the whole suite (PostgreSQL/browser suites skip unless configured)
test: install assets
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## make bench: performance goals (never timed assertions in tests)
bench: install assets
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	$(BIN)/python benchmarks/run_all.py

## make lint: ruff and mypy for Python, eslint (eslint.config.js) for the app's ES modules
lint: install node_modules/.package-lock.json
	$(BIN)/ruff check .
	$(BIN)/mypy routing territories places
	node_modules/.bin/eslint .
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) node_modules geocrm/static/vendor
