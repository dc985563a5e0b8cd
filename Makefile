# The two commands of the README: `make run` and `make test`. Everything else is a step of those.

VENV        ?= .venv
PYTHON      ?= python3
BIN         := $(VENV)/bin
LOCK        := requirements/lock.txt
HOST        ?= 127.0.0.1
PORT        ?= 5000
# PostgreSQL for the second pass of the test suite; CI may set DATABASE_URL instead.
PG_URL      ?= $(or $(DATABASE_URL),postgresql+psycopg://postgres@127.0.0.1:5432/test)
SUDO        := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
MO_FILES    := $(patsubst %.po,%.mo,$(wildcard idp/translations/*/LC_MESSAGES/messages.po))

INTEROP     := tests/interop
.PHONY: run test install chromium interop test-sqlite test-postgres test-unit bench lint clean

# Every package, pip and the build backend included, comes from the hashed lock (see requirements/README.md);
# the project itself is then installed editable on top, without resolving anything.
$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	awk '/^pip==/ { p = 1; print; next } /^[^ ]/ { p = 0 } p' $(LOCK) \
	  | $(BIN)/pip install --quiet --require-hashes --no-deps -r /dev/stdin

$(VENV)/.installed: pyproject.toml $(LOCK) | $(BIN)/activate
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/pip check
	touch $@

%.mo: %.po $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -i $< -o $@

install: $(VENV)/.installed $(MO_FILES)

run: install
	$(BIN)/idp init
	$(BIN)/idp demo
	@echo
	@echo "  Identity provider:  http://$(HOST):$(PORT)/login"
	@echo "  Sign in as the demo referent:  login paul.dupont  password Espace#Client-0124"
	@echo "  Emails (development): instance/mail/*.eml, or .venv/bin/idp outbox list"
	@echo "  Customer Area (portal):  http://$(HOST):5001/     Technical console:  http://$(HOST):5002/"
	@echo
	set -a; . instance/sso_clients.env; set +a; trap 'kill 0' EXIT INT TERM; \
	$(BIN)/gunicorn --bind $(HOST):5001 --workers 1 --threads 4 'sso_clients.portal:create_app()' & \
	$(BIN)/gunicorn --bind $(HOST):5002 --workers 1 --threads 4 'sso_clients.console:create_app()' & \
	$(BIN)/idp serve --host $(HOST) --port $(PORT)

chromium:
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The second relying-party library (openid-client) for the interop tests, and axe-core for the
# browser tests' accessibility checks (tests/browser/axe.py), pinned by the lock file.
$(INTEROP)/node_modules/.installed: $(INTEROP)/package-lock.json
	cd $(INTEROP) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

interop: $(INTEROP)/node_modules/.installed

test: install chromium interop
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

# Everything on SQLite; on PostgreSQL, what touches the database (unit and browser tests do not).
test-sqlite:
	@echo "== test suite on SQLite =="
	IDP_TEST_DATABASE_URL= $(BIN)/pytest $(PYTEST_ARGS)

test-postgres:
	@echo "== test suite on PostgreSQL (without unit and browser tests: they do not depend on it) =="
	IDP_TEST_DATABASE_URL='$(PG_URL)' $(BIN)/pytest -m "not unit and not browser" $(PYTEST_ARGS)

# Seconds: policy, parsers, crypto wiring, settings, the architecture rules.
test-unit: install
	$(BIN)/pytest -m unit $(PYTEST_ARGS)

# ruff (lint and format) and mypy on the product's code; CI runs it before the tests.
lint: install
	$(BIN)/ruff check idp sso_clients
	$(BIN)/ruff format --check idp sso_clients
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/login.py
	$(BIN)/python bench/oidc_flow.py
	$(BIN)/python bench/aksk.py

clean:
	rm -rf $(VENV) instance .pytest_cache $(INTEROP)/node_modules
