# GeoCRM. Fresh machine: Python 3.11 and Node 20 (npm) — Node installs the map assets and eslint (make lint).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
export FLASK_APP := geocrm

.PHONY: run test bench lint install assets db demo clean translations

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
	$(BIN)/flask region load --demo --if-missing

## Translations (geocrm/translations/<locale>/LC_MESSAGES): the .po files are the source and
## are committed; the compiled .mo files are build output (git-ignored), made from them by every
## target that serves or tests the app, so a fresh clone needs no extra step.
LOCALES := ko ja
PO_FILES := $(foreach l,$(LOCALES),geocrm/translations/$(l)/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

%.mo: %.po | install
	$(BIN)/pybabel compile -i $< -o $@

## make translations: extract the messages of the files babel.cfg lists, merge them into the
## ko/ja catalogues (new ones start empty), compile; then translate, and `make lint` checks
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -w 100 --sort-by-file \
	  --project GeoCRM --copyright-holder "GeoCRM contributors" -o geocrm/translations/messages.pot .
	for l in $(LOCALES); do \
	  test -f geocrm/translations/$$l/LC_MESSAGES/messages.po \
	  || $(BIN)/pybabel init -l $$l -i geocrm/translations/messages.pot -d geocrm/translations; \
	done
	$(BIN)/pybabel update -i geocrm/translations/messages.pot -d geocrm/translations -w 100 --no-fuzzy-matching
	$(BIN)/pybabel compile -d geocrm/translations --statistics

## make run: install, create the SQLite database, load the demo company, serve on 127.0.0.1:5000
run: install assets demo $(MO_FILES)
	GEOCRM_TIMEZONE=$${GEOCRM_TIMEZONE:-Europe/Helsinki} $(BIN)/flask run --host $(HOST) --port $(PORT)

## make test: install and run the whole suite (PostgreSQL/browser suites skip unless configured),
## one pytest-xdist worker per core; a file's tests stay on one worker, in order (TEST_WORKERS=0: serial)
TEST_WORKERS ?= auto
test: install assets $(MO_FILES)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

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
	$(BIN)/python scripts/check_translations.py

clean:
	rm -rf $(VENV) node_modules geocrm/static/vendor
