#!/usr/bin/env bash
# Backups of the project's own PostgreSQL cluster (the one scripts/pg.sh manages) with pgBackRest:
# full/differential/incremental copies of the data directory plus every WAL segment, so that the
# cluster can be brought back to its last commit or to any moment since the oldest full backup.
#   scripts/backup.sh setup                   config, WAL archiving, the stanza, a check
#   scripts/backup.sh backup [full|diff|incr] a backup (incr by default; the first is always full)
#   scripts/backup.sh restore [--yes] [TARGET_TIME]   stop, restore (to the time, or to the last archived
#                                             commit), start; e.g. "2026-11-29 18:00:00+07"
#   scripts/backup.sh info                    the backups and the archive in the repository
# PORTAL_LOCAL names the state folder as for pg.sh (tests use throwaway clusters);
# PORTAL_BACKUP_REPO another repository folder than <cluster home>/backup (a second disk).
# pgBackRest runs as the `postgres` user when we are root, as the server itself does.
# Production (Debian's cluster, not this one): deploy/pgbackrest/ and README "Backups and restores".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
STANZA=portal

if [[ -n "${DATABASE_URL:-}" ]]; then
    echo "DATABASE_URL is set: back that server up with its own pgBackRest (deploy/pgbackrest/)" >&2
    exit 1
fi
command -v pgbackrest >/dev/null || { echo "pgbackrest is missing: scripts/setup.sh installs it" >&2; exit 1; }

if [[ $(id -u) -eq 0 ]]; then
    RUNAS=(runuser -u postgres --)
else
    RUNAS=()
fi
as_server() { (cd / && "${RUNAS[@]}" "$@"); }

LOCAL=$(readlink -f "${PORTAL_LOCAL:-$ROOT/.local}")
if [[ ! -f $LOCAL/pg.port || ! -e $LOCAL/pg ]]; then
    echo "no cluster in $LOCAL: scripts/pg.sh start makes it" >&2
    exit 1
fi
# The server's home (pg.sh: .local/pg, or /var/lib/antt-portal/<hash> behind that link): the
# config, logs and locks live there, where the `postgres` user can read them when it archives WAL.
PGHOME=$(readlink -f "$LOCAL/pg")
DATA=$PGHOME/data
SOCK=$PGHOME/run
PORT=$(cat "$LOCAL/pg.port")
HOME_BR=$PGHOME/pgbackrest
CONF=$HOME_BR/pgbackrest.conf
PASSFILE=$HOME_BR/pgpass
REPO=${PORTAL_BACKUP_REPO:-$PGHOME/backup}
BR=(env PGPASSFILE="$PASSFILE" pgbackrest --config="$CONF" --stanza="$STANZA")
ARCHIVE_COMMAND="pgbackrest --config=$CONF --stanza=$STANZA archive-push %p"

# SQL as the bootstrap superuser over loopback; one value, unaligned
sql() {
    PGPASSWORD=$(cat "$LOCAL/pg.password") "$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 \
        -h 127.0.0.1 -p "$PORT" -U portal -d postgres -c "$1"
}
# pgBackRest as the server's user; on failure its whole output, and we stop
br() {
    local out
    out=$(as_server "${BR[@]}" "$@" 2>&1) || { printf '%s\n' "$out" >&2; exit 1; }
    printf '%s\n' "$out"
}
running() { as_server "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }
start() { scripts/pg.sh start >/dev/null; }

write_config() {
    as_server mkdir -p "$HOME_BR/log" "$HOME_BR/lock" "$HOME_BR/spool"
    mkdir -p "$REPO"  # as us: PORTAL_BACKUP_REPO may be where only root may make folders
    if [[ $(id -u) -eq 0 ]]; then chown postgres: "$REPO"; fi
    as_server chmod 700 "$HOME_BR" "$REPO"
    # pgBackRest connects through the socket as the bootstrap role, whose password only it reads
    printf '*:*:*:portal:%s\n' "$(cat "$LOCAL/pg.password")" | as_server tee "$PASSFILE" >/dev/null
    as_server chmod 600 "$PASSFILE"
    # log, lock and spool paths of its own: another clone's stanza is also called "portal"
    cat <<CONF | as_server tee "$CONF.new" >/dev/null
# written by scripts/backup.sh setup; rewritten on each setup
[global]
repo1-path=$REPO
# two full backups kept (with the differentials, incrementals and WAL they need); older ones expire
repo1-retention-full=2
compress-type=zst
compress-level=3
start-fast=y
archive-check=y
log-path=$HOME_BR/log
lock-path=$HOME_BR/lock
spool-path=$HOME_BR/spool
log-level-console=warn
log-level-file=info

[$STANZA]
pg1-path=$DATA
pg1-port=$PORT
pg1-socket-path=$SOCK
pg1-user=portal
CONF
    as_server mv "$CONF.new" "$CONF"
    ln -sfn "$CONF" "$LOCAL/pgbackrest.conf" 2>/dev/null || true  # where an operator looks
}

# archive_mode=on needs a restart, archive_command a reload: the restart happens only once
archive_on() {
    local mode command
    mode=$(sql "SHOW archive_mode")
    command=$(sql "SHOW archive_command")
    # a quiet server fills a 16 MB segment in hours: archive each within a minute anyway, or a
    # lost disk would lose those hours' commits (and a restore to a moment in them fails)
    if [[ $command != "$ARCHIVE_COMMAND" || $(sql "SHOW archive_timeout") != 1min ]]; then
        sql "ALTER SYSTEM SET archive_command = '$ARCHIVE_COMMAND'" >/dev/null
        sql "ALTER SYSTEM SET archive_timeout = '60s'" >/dev/null
        sql "SELECT pg_reload_conf()" >/dev/null
    fi
    if [[ $mode != on ]]; then
        sql "ALTER SYSTEM SET archive_mode = 'on'" >/dev/null
        echo "==> restarting PostgreSQL once to turn WAL archiving on"
        as_server "$PGBIN/pg_ctl" -D "$DATA" -l "$PGHOME/server.log" -m fast -w -t 120 restart >/dev/null
    fi
}

setup() {
    start
    write_config
    archive_on
    echo "==> pgbackrest stanza-create (repository $REPO)"
    br stanza-create >/dev/null
    br check >/dev/null
    echo "==> backups set up: $CONF"
}

# set up already: the config is there and the server archives through it
ready() {
    [[ -f $CONF && -f $REPO/backup/$STANZA/backup.info ]] || return 1
    running || return 1
    [[ $(sql "SHOW archive_mode") == on && $(sql "SHOW archive_command") == "$ARCHIVE_COMMAND" ]] &&
        [[ $(sql "SHOW archive_timeout") == 1min ]]
}

backup() {
    local type=${1:-incr}
    case "$type" in full | diff | incr) ;; *) echo "backup type: full, diff or incr" >&2; exit 2 ;; esac
    start
    ready || setup
    echo "==> pgbackrest backup --type=$type"
    local out
    out=$(br --type="$type" --log-level-console=info backup)
    grep -oE "new backup label = .*|expire (full|diff|incr) backup.*" <<<"$out" || true
}

# Replacing the database is asked first: typed "restore" at a terminal, or --yes (scripts,
# tests); without either nothing is stopped or touched.
confirm_restore() {
    local target=$1 answer
    if [[ ! -t 0 ]]; then
        echo "restore replaces the whole database: run it at a terminal, or add --yes" >&2
        exit 1
    fi
    echo "This replaces the whole database of $DATA with the backup's," >&2
    echo "${target:+as it was at $target}${target:-up to the last archived commit}; everything written after that is lost." >&2
    read -r -p "Stop the portal first. Type restore to go on: " answer
    [[ $answer == restore ]] || { echo "nothing restored" >&2; exit 1; }
}

restore() {
    local yes=0
    if [[ ${1:-} == --yes ]]; then yes=1; shift; fi
    local target=${1:-}
    # A time without its zone is read in the server's (UTC, usually): hours off what was meant.
    # And pgBackRest picks the backup set by the time only in this form (else the latest set,
    # which may end after the target: no restore then).
    local zoned='^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}([.,][0-9]{1,6})?[+-][0-9]{2}(:?[0-9]{2})?$'
    if [[ -n $target && ! $target =~ $zoned ]]; then
        echo "restore target $target: the time to the second and its UTC offset," \
            "e.g. \"2026-11-29 18:00:00+07\"" >&2
        exit 2
    fi
    [[ -f $CONF ]] || { echo "no backups set up here ($CONF)" >&2; exit 1; }
    # pgBackRest refuses an empty repository only once the server is stopped: ask it first
    if ! as_server "${BR[@]}" --output=json info 2>/dev/null | grep -q '"label"'; then
        echo "no backup in the repository ($REPO): nothing restored, PostgreSQL left as it is" >&2
        exit 1
    fi
    ((yes)) || confirm_restore "$target"
    if running; then
        echo "==> stopping PostgreSQL"
        as_server "$PGBIN/pg_ctl" -D "$DATA" -m fast -w -t 120 stop >/dev/null
    elif [[ -f $DATA/postmaster.pid ]]; then
        as_server rm -f "$DATA/postmaster.pid"  # a crashed server's: pg_ctl found no process
    fi
    as_server mkdir -p "$DATA"
    as_server chmod 700 "$DATA"
    local args=(--delta --log-level-console=info)
    if [[ -n $target ]]; then
        args+=(--type=time "--target=$target" --target-action=promote)
        echo "==> pgbackrest restore to $target"
    else
        echo "==> pgbackrest restore to the end of the WAL archive"
    fi
    local out
    out=$(br "${args[@]}" restore)
    grep -oE "restore backup set .*" <<<"$out" || true
    echo "==> starting PostgreSQL (replaying WAL)"
    start
    # pg_ctl returns once connections are accepted, which a hot standby does during recovery
    local waited=0
    while [[ $(sql "SELECT pg_is_in_recovery()") == t ]]; do
        ((waited++ < 600)) || { echo "still recovering after 300 s: see $PGHOME/server.log" >&2; exit 1; }
        sleep 0.5
    done
    local last
    last=$(sql "SELECT coalesce(pg_last_xact_replay_timestamp()::text, 'no transaction in the WAL after the backup')")
    echo "==> restored: last transaction replayed committed at $last; PostgreSQL is running"
}

case "${1:-}" in
    setup) setup ;;
    backup) backup "${2:-}" ;;
    restore) shift; restore "$@" ;;
    info) br info ;;
    *) echo "usage: $0 setup | backup [full|diff|incr] | restore [--yes] [TARGET_TIME] | info" >&2; exit 2 ;;
esac
