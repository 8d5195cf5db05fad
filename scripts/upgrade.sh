#!/usr/bin/env bash
# `make upgrade`: the code already pulled, bring the installation up to it.
#   scripts/upgrade.sh [--no-setup]   (--no-setup: step 1 left out; the tests use it)
#   1. what is missing installed (scripts/setup.sh --no-migrate: packages, venv, assets, catalogue)
#   2. a backup, and nothing more when it fails: the way back if a migration goes wrong
#   3. the migrations as the schema's owner, then the portal role's grants
# The project's own cluster is backed up by scripts/backup.sh; with DATABASE_URL (a production
# server) by that server's pgBackRest stanza `portal` (deploy/pgbackrest/), as `postgres`.
# PORTAL_MIGRATION_LOCK_TIMEOUT (migrations/env.py) bounds each wait for a lock the serving
# portal holds: the upgrade fails then, instead of queueing every request behind it.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" != --no-setup ]]; then
    scripts/setup.sh --no-migrate
fi

before=$(date -u '+%Y-%m-%d %H:%M:%S+00')
if [[ -z "${DATABASE_URL:-}" ]]; then
    scripts/backup.sh backup "${BACKUP_TYPE:-incr}" || {
        echo "the backup failed: nothing migrated" >&2
        exit 1
    }
elif [[ -f ${PGBACKREST_CONFIG:-/etc/pgbackrest/pgbackrest.conf} ]]; then
    echo "==> pgbackrest backup --stanza=portal --type=${BACKUP_TYPE:-incr}"
    runas=()
    [[ $(id -u) -eq 0 ]] && runas=(runuser -u postgres --)
    (cd / && "${runas[@]}" pgbackrest --config="${PGBACKREST_CONFIG:-/etc/pgbackrest/pgbackrest.conf}" \
        --stanza=portal --type="${BACKUP_TYPE:-incr}" backup) || {
        echo "the backup failed: nothing migrated" >&2
        exit 1
    }
else
    echo "DATABASE_URL is set and there is no /etc/pgbackrest/pgbackrest.conf: no backup can be" >&2
    echo "made, so nothing is migrated (README: Backups and restores; PGBACKREST_CONFIG)." >&2
    exit 1
fi

echo "==> flask db upgrade (as the schema's owner)"
.venv/bin/flask --app wsgi db upgrade --directory migrations
scripts/pg.sh grant
if [[ -z "${DATABASE_URL:-}" ]]; then
    echo "==> upgraded. To go back to before it: make restore TARGET=\"$before\""
else
    echo "==> upgraded. To go back to before it, with the portal and PostgreSQL stopped (README:"
    echo "    Backups and restores): pgbackrest --stanza=portal --delta --type=time" \
        "\"--target=$before\" --target-action=promote restore"
fi
