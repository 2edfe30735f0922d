PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= auto

.PHONY: run test lint typecheck test-sqlite test-postgres bench drills clean browser-deps screenshots

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## make run: set up, migrate the database, serve on http://$STARLING_HOST:$STARLING_PORT
run: $(STAMP)
	$(BIN)/starling migrate
	$(BIN)/starling serve --no-migrate

## make test: set up, then ruff, mypy and the whole suite on SQLite and PostgreSQL
test: $(STAMP) lint typecheck test-sqlite test-postgres

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# The browser tests inject axe-core (pinned in tests/browser/package-lock.json); without npm they skip
# (and fail when CI=true).
AXE := tests/browser/node_modules/axe-core/axe.min.js
browser-deps: $(AXE)
$(AXE): tests/browser/package.json tests/browser/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix tests/browser --no-audit --no-fund --silent && touch $(AXE); \
	else echo "npm not found: the browser accessibility checks will be skipped"; fi

## make screenshots: pictures of the main pages (desktop and phone) in docs/screenshots/
screenshots: $(STAMP)
	$(BIN)/python -m tools.screenshots

test-sqlite: $(STAMP) browser-deps
	STARLING_TEST_DB=sqlite $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup -p no:cacheprovider -q

# Runs when PostgreSQL answers; in CI (CI=true) it always runs and fails without it.
test-postgres: $(STAMP) browser-deps
	@if [ "$$CI" = "true" ] || $(BIN)/python -m tests.support.pg_available; then \
		STARLING_TEST_DB=postgres $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup -p no:cacheprovider -q; \
	else \
		echo "SKIPPED: PostgreSQL suite (no server on 127.0.0.1:5432; set STARLING_TEST_PG_URL)"; \
	fi

bench: $(STAMP)
	@command -v wrk >/dev/null || { echo "make bench needs wrk: apt-get install -y wrk"; exit 1; }
	$(BIN)/python -m bench.run_all

## make drills: the four reliability drills on SQLite and PostgreSQL (about 35 minutes; see docs/RELIABILITY.md)
drills: $(STAMP)
	@status=0; for db in sqlite postgres; do \
		for drill in rolling_upgrade crash overload db_restart; do \
			$(BIN)/python -m bench.drills.$$drill --db $$db || status=1; \
		done; \
	done; exit $$status

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
