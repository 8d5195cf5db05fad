# Two commands for a newcomer: `make run` and `make test`. Both install what is missing first.
SHELL := /bin/bash
VENV := .venv/bin
BIND ?= 127.0.0.1:5000
WORKERS ?= 2
# The suite's processes (pytest-xdist): one per core, at most four (each has its own test
# databases, a few connections and a one-off set-up of some seconds); TEST_WORKERS=0 runs it in one.
TEST_WORKERS ?= auto

.PHONY: run test setup setup-test seed lint format bench soak db-stop dev replica translations \
	backup restore upgrade

setup:
	@scripts/setup.sh

setup-test:
	@scripts/setup.sh --test

# The demo's accounts have published passwords: production refuses them (portal/demo/guard.py),
# so the demo runs as PORTAL_ENV=demo, production in everything else.
DEMO := PORTAL_ENV=demo

## make run: everything needed, the demo data once, then the portal under gunicorn at http://$(BIND)
run: setup
	@[[ ! -f .local/pg.replica.port ]] || scripts/pg.sh replica start  # made by `make replica`
	@$(DEMO) $(VENV)/flask --app wsgi seed-demo --if-empty
	@$(DEMO) $(VENV)/flask --app wsgi seed-patrols --if-empty
	@$(DEMO) $(VENV)/flask --app wsgi seed-incidents --if-empty
	@$(DEMO) $(VENV)/flask --app wsgi seed-turnover --if-empty
	@$(DEMO) $(VENV)/flask --app wsgi import-streets --if-empty
	@echo "==> portal at http://$(BIND)  (Ctrl-C stops it)"
	@$(DEMO) BIND=$(BIND) WORKERS=$(WORKERS) scripts/serve.sh  # as root: as an unprivileged user

## make test: everything needed, lint, then the whole suite
test: setup-test
	@$(VENV)/ruff check .
	@$(VENV)/ruff format --check .
	@$(VENV)/pytest -n $(TEST_WORKERS) --maxprocesses 4 --dist loadgroup $(PYTEST_ARGS)

dev: setup
	@$(VENV)/flask --app wsgi run --debug

seed: setup
	@$(DEMO) $(VENV)/flask --app wsgi seed-demo

bench:
	@scripts/setup.sh --bench
	@for b in bench/bench_*.py; do $(VENV)/python $$b || exit 1; done

## make soak: ten minutes of mixed traffic on gunicorn (SOAK_SECONDS=60 for a short one); RSS, errors
soak:
	@scripts/setup.sh --bench
	@$(VENV)/python bench/soak.py

lint:
	@$(VENV)/ruff check . && $(VENV)/ruff format --check .

format:
	@$(VENV)/ruff check --fix . && $(VENV)/ruff format .

db-stop:
	@[[ ! -f .local/pg.replica.port ]] || scripts/pg.sh replica stop || true  # not running
	@scripts/pg.sh stop

## make backup: a pgBackRest backup of the project's cluster (TYPE=full|diff|incr, incr by default;
## the first run sets up WAL archiving and the repository: README "Backups and restores")
backup:
	@scripts/backup.sh backup $(TYPE)

## make restore: the cluster back from the backups and the WAL archive, to its last archived commit
## or to TARGET="2026-11-29 18:00:00+07" (everything committed after it is gone)
restore:
	@scripts/backup.sh restore $(if $(TARGET),"$(TARGET)")

## make upgrade: after `git pull`: what is missing installed, a backup (stops if it fails), then
## the migrations and the grants (README "Upgrading")
upgrade:
	@scripts/upgrade.sh

## make replica: a streaming replica of the project's cluster (pg_basebackup, the next port); the
## portal then reads the public look-up from it by itself (README: Several machines)
replica: setup
	@scripts/pg.sh replica start

## make translations: the catalogue after a change of strings: extract every _() and N_() (babel.cfg),
## add the new Vietnamese msgids to translations/en/.../messages.po (empty English for the
## translator), drop the ones no longer used, compile (README: Translations)
translations:
	@$(VENV)/pybabel -q extract -F babel.cfg --no-location --project=antt-portal --version=1 \
		-w 100 -o translations/messages.pot .
	@$(VENV)/pybabel -q update -i translations/messages.pot -d translations -D messages \
		--ignore-obsolete --ignore-pot-creation-date -w 100
	@$(VENV)/pybabel compile -d translations -D messages --statistics
