# lawtracker — the two commands: `make run` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
PORT ?= 8000
BIN := $(VENV)/bin

.PHONY: run worker test golden install install-dev migrate seed fixtures serve check clean loadtest bench bench-instructions

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput

# Load the reference jurisdictions (ISO 3166 via pycountry), the criteria and the research seed.
seed: migrate
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py load_seed

# Rebuild fixtures/ from research/*.yaml.
fixtures: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py build_fixtures

# Set up everything and serve on 127.0.0.1:$(PORT) (SQLite unless DATABASE_URL says otherwise),
# with the alerts worker beside the server (it stops with it).
run: seed
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py ensure_admin
	DEBUG=$${DEBUG:-1} ALERTS_SITE_URL=$${ALERTS_SITE_URL:-http://127.0.0.1:$(PORT)} \
		$(BIN)/python manage.py with_worker runserver 127.0.0.1:$(PORT) --noreload

# The alerts worker alone (issue 14): queue what a stopped worker left, then django-tasks'
# database worker. Production: deploy/lawtracker-worker.service.
worker: migrate
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py alerts_recover
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py db_worker --no-reload

# Set up everything and run the test suite (SQLite unless DATABASE_URL says otherwise).
test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Regenerate the golden answers (tests/golden/) after an intended change; review the diff.
golden: install-dev
	$(BIN)/python -m pytest -m golden --update-golden -q

# Benchmark on a synthetic dataset (bench/README.md): SCALE=small|medium|large; PostgreSQL too when
# DATABASE_URL points at one. Datasette goes into its own venv, bench/.venv.
SCALE ?= small
bench/.venv/.installed: bench/requirements.txt
	$(PYTHON) -m venv bench/.venv || python3 -m venv bench/.venv
	bench/.venv/bin/pip install --quiet -r bench/requirements.txt
	touch $@

bench: install bench/.venv/.installed
	$(BIN)/python bench/run.py --scale $(SCALE)

# The same scenarios counted in CPU instructions (valgrind), which a loaded machine does not move;
# BENCH_AGAINST=DIR counts another checkout (e.g. a worktree of an older commit) beside this one.
bench-instructions: install
	$(BIN)/python bench/instructions.py --scale $(SCALE) $(if $(BENCH_AGAINST),--against $(BENCH_AGAINST))

# Load and fault test on loopback: gunicorn on the local PostgreSQL, 32 clients for 60 s, one
# PostgreSQL restart (about 2 minutes; see loadtest/run.py). Writes loadtest/results.json.
loadtest: install
	$(BIN)/python loadtest/run.py $(LOADTEST_ARGS)

check: install-dev
	$(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache
