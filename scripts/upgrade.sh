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

config=${PGBACKREST_CONFIG:-/etc/pgbackrest/pgbackrest.conf}
if [[ -z "${DATABASE_URL:-}" ]]; then
    scripts/backup.sh backup "${BACKUP_TYPE:-incr}" || {
        echo "the backup failed: nothing migrated" >&2
        exit 1
    }
elif [[ -f $config ]]; then
    echo "==> pgbackrest backup --stanza=portal --type=${BACKUP_TYPE:-incr}"
    runas=()
    [[ $(id -u) -eq 0 ]] && runas=(runuser -u postgres --)
    (cd / && "${runas[@]}" pgbackrest --config="$config" \
        --stanza=portal --type="${BACKUP_TYPE:-incr}" backup) || {
        echo "the backup failed: nothing migrated" >&2
        exit 1
    }
else
    echo "DATABASE_URL is set and there is no /etc/pgbackrest/pgbackrest.conf: no backup can be" >&2
    echo "made, so nothing is migrated (README: Backups and restores; PGBACKREST_CONFIG)." >&2
    exit 1
fi

# The way back: a moment after the backup ended (a second later, as the time has whole seconds),
# before anything migrated; a restore to before the backup would need an older one. Printed
# whether the migration succeeds or not (a failed one may have committed part of its work).
sleep 1
before=$(date -u '+%Y-%m-%d %H:%M:%S+00')
if [[ -z "${DATABASE_URL:-}" ]]; then
    way_back="make restore TARGET=\"$before\""
else
    # `make restore` serves the project's own cluster only: pgBackRest's own restore here
    way_back="systemctl stop antt-portal-web antt-portal-worker postgresql@15-main;"
    way_back+=" runuser -u postgres -- pgbackrest --config=$config --stanza=portal --delta"
    way_back+=" --type=time \"--target=$before\" --target-action=promote restore;"
    way_back+=" systemctl start postgresql@15-main"
fi
trap 'echo "the upgrade failed. To go back to before it: $way_back" >&2' ERR

echo "==> flask db upgrade (as the schema's owner)"
.venv/bin/flask --app wsgi db upgrade --directory migrations
scripts/pg.sh grant
trap - ERR
echo "==> upgraded. To go back to before it: $way_back"
