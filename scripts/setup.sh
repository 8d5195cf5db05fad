#!/usr/bin/env bash
# Installs whatever is missing for the portal and leaves its database running and migrated.
#   scripts/setup.sh          what `make run` needs
#   scripts/setup.sh --test   also what the tests need (Chromium, GDAL's command-line tools)
#   scripts/setup.sh --bench  also what the benchmarks need (wrk, the HTTP load generator)
#   scripts/setup.sh --no-migrate  everything but the migrations (`make upgrade` backs up first)
# Idempotent: a second run only checks, so it takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
MODE=
MIGRATE=1
for arg in "$@"; do
    case "$arg" in
        --test | --bench) MODE=$arg ;;
        --no-migrate) MIGRATE=0 ;;
        *) echo "usage: $0 [--test|--bench] [--no-migrate]" >&2; exit 2 ;;
    esac
done

# acl: setfacl, for scripts/serve.sh; pgbackrest: `make backup` / `make restore` (issue 18)
packages=(postgresql-15 postgresql-15-postgis-3 acl pgbackrest)
if [[ $MODE == --test ]]; then
    # issue 18: pgBackRest for the backup drill, nginx for the deploy/ site's test
    packages+=(chromium gdal-bin pgbackrest nginx)
elif [[ $MODE == --bench ]]; then
    packages+=(wrk)
fi

# 1. System packages, through apt. Only root may install them; anyone else is told the exact command.
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "Missing system packages: ${missing[*]}" >&2
        echo "Install them with:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "==> apt-get install ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

# 2. The Python environment, rebuilt only when pyproject.toml changed since the last install.
if [[ ! -x .venv/bin/python ]]; then
    echo "==> python3 -m venv .venv"
    python3 -m venv .venv
fi
if [[ ! -f .venv/.installed || pyproject.toml -nt .venv/.installed ]]; then
    echo "==> pip install -e .[dev]"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[dev]'
    touch .venv/.installed
fi

# 3. Front-end packages (Leaflet, htmx) from the npm registry, exactly as package-lock.json pins them.
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
    echo "==> npm ci"
    npm ci --no-audit --no-fund --loglevel=error
fi

# 4. The English catalogue: translations/*/LC_MESSAGES/messages.po is committed, its .mo is not; it is
#    compiled here whenever the .po is newer (the portal refuses to start with a missing or stale .mo).
for po in translations/*/LC_MESSAGES/messages.po; do
    if [[ ! -f "${po%.po}.mo" || "$po" -nt "${po%.po}.mo" ]]; then
        echo "==> pybabel compile $po"
        .venv/bin/pybabel -q compile -d translations -D messages
        break  # one command compiles every language
    fi
done

# 5. One random secret key per clone, shared by all gunicorn workers (portal/config.py reads it).
mkdir -p .local
if [[ ! -s .local/secret_key ]]; then
    (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >.local/secret_key)
fi

# 6. The database: the project's own PostgreSQL cluster unless DATABASE_URL names another server.
scripts/pg.sh start
scripts/pg.sh createdb
if ((!MIGRATE)); then
    echo "==> ready: database not migrated (--no-migrate)"
    exit 0
fi
.venv/bin/flask --app wsgi db upgrade --directory migrations >/dev/null  # as the schema's owner
scripts/pg.sh grant  # what the portal's own role may do (portal/dbsetup.py)
echo "==> ready: database migrated"
