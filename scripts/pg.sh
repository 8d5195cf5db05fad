#!/usr/bin/env bash
# The project's own PostgreSQL 15 cluster: its own data directory, port and socket, never the
# machine's default cluster.
#   scripts/pg.sh start | stop | status | createdb [NAME] | grant [NAME] | url [NAME]
#   scripts/pg.sh replica start | stop | status | url [NAME]   a streaming replica beside it
# PostgreSQL refuses to run as root, so when we are root the server runs as the `postgres` user.
# That user must be able to reach the data directory: when the clone sits under a folder only root
# can enter, the cluster lives under /var/lib/antt-portal/<hash of this path> instead, and
# .local/pg links to it, so the data stays tied to this clone and out of git.
# PORTAL_LOCAL names another state folder than .local (a whole second cluster with its own
# passwords and port: the fault tests make throwaway ones); PORTAL_PG_DURABLE=1 keeps
# PostgreSQL's crash-safe defaults (fsync, synchronous_commit) that this dev cluster turns off.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
DBNAME=${PORTAL_DBNAME:-antt_portal}

# With DATABASE_URL set we use that server as it is and manage nothing but the database and,
# when DATABASE_OWNER_URL names the schema's owner, the grants of DATABASE_URL's role.
if [[ -n "${DATABASE_URL:-}" && "${1:-}" != url ]]; then
    case "${1:-}" in
        createdb) exec .venv/bin/python -m portal.dbsetup "${DATABASE_OWNER_URL:-$DATABASE_URL}" ;;
        grant)
            if [[ -n "${DATABASE_OWNER_URL:-}" ]]; then
                exec .venv/bin/python -m portal.dbsetup grant-urls "$DATABASE_OWNER_URL" "$DATABASE_URL"
            fi
            echo "DATABASE_OWNER_URL is not set: grant DATABASE_URL's role yourself (README)"; exit 0 ;;
        *) echo "DATABASE_URL is set: the project's own cluster is not used"; exit 0 ;;
    esac
fi

if [[ $(id -u) -eq 0 ]]; then
    RUNAS=(runuser -u postgres --)
else
    RUNAS=()
fi

LOCAL=${PORTAL_LOCAL:-$ROOT/.local}
mkdir -p "$LOCAL"
LOCAL=$(readlink -f "$LOCAL")
if [[ ! -e $LOCAL/pg ]]; then
    if [[ $(id -u) -eq 0 ]] && ! runuser -u postgres -- test -x "$LOCAL"; then
        hash=$(printf '%s' "$LOCAL" | sha1sum | cut -c1-12)
        home=/var/lib/antt-portal/$hash
        mkdir -p "$home"
        ln -s "$home" "$LOCAL/pg"
    else
        mkdir -p "$LOCAL/pg"
    fi
    [[ $(id -u) -eq 0 ]] && chown postgres: "$(readlink -f "$LOCAL/pg")"
fi
PGHOME=$(readlink -f "$LOCAL/pg")
DATA=$PGHOME/data
SOCK=$PGHOME/run
PWFILE=$LOCAL/pg.password
PORTFILE=$LOCAL/pg.port
REPLICA=$PGHOME/replica
REPLICA_PORTFILE=$LOCAL/pg.replica.port

# The port is chosen once, when the cluster is made: 54329, or the next free one when another
# clone's cluster already has it. portal/config.py reads it from .local/pg.port.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [[ -f $PORTFILE ]]; then
    PORT=$(cat "$PORTFILE")
else
    PORT=${PORTAL_PGPORT:-54329}
    while ! port_free "$PORT"; do PORT=$((PORT + 1)); done
fi

# from / so that the server user is not left in a folder it may not enter
pg() { (cd / && "${RUNAS[@]}" "$@"); }

url() {
    local name=${1:-$DBNAME}
    echo "postgresql+psycopg://portal:$(cat "$PWFILE")@127.0.0.1:$PORT/$name"
}

# --- a streaming replica (issue 16): a copy of the whole cluster on the next free port, kept
# up to date by WAL streaming, read-only (hot standby). The portal reads public pages from it
# when DATABASE_REPLICA_URL names it (portal/config.py finds this one by itself).
replica_start() {
    start
    if [[ ! -f $REPLICA/PG_VERSION ]]; then
        local rport=${PORTAL_REPLICA_PGPORT:-$((PORT + 1))}
        while ! port_free "$rport"; do rport=$((rport + 1)); done
        echo "==> pg_basebackup into $REPLICA (port $rport)"
        pg mkdir -p "$REPLICA"
        pg chmod 700 "$REPLICA"
        # -R: standby.signal and primary_conninfo (with the bootstrap role's password, in a file
        # only the server's user can read); -X stream: the WAL written meanwhile comes along
        pg env PGPASSWORD="$(cat "$PWFILE")" "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PORT" \
            -U portal -D "$REPLICA" -R -X stream -c fast
        cat <<CONF | pg tee -a "$REPLICA/postgresql.auto.conf" >/dev/null
port = $rport
hot_standby = on
CONF
        echo "$rport" >"$REPLICA_PORTFILE"
    fi
    if pg "$PGBIN/pg_ctl" -D "$REPLICA" status >/dev/null 2>&1; then
        return 0
    fi
    echo "==> starting the replica on 127.0.0.1:$(cat "$REPLICA_PORTFILE")"
    pg "$PGBIN/pg_ctl" -D "$REPLICA" -l "$PGHOME/replica.log" -w -t 60 start >/dev/null
}

replica() {
    case "${1:-}" in
        start) replica_start ;;
        stop) pg "$PGBIN/pg_ctl" -D "$REPLICA" -m fast stop ;;
        status) pg "$PGBIN/pg_ctl" -D "$REPLICA" status ;;
        url)
            local user password
            user=portal_app
            password=$(cat "$LOCAL/pg.app.password")
            echo "postgresql+psycopg://$user:$password@127.0.0.1:$(cat "$REPLICA_PORTFILE")/${2:-$DBNAME}"
            ;;
        *) echo "usage: $0 replica start|stop|status|url [NAME]" >&2; exit 2 ;;
    esac
}

start() {
    if [[ ! -f $DATA/PG_VERSION ]]; then
        echo "==> initdb $DATA (port $PORT)"
        [[ -f $PWFILE ]] || { umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$PWFILE"; }
        pg mkdir -p "$DATA" "$SOCK"
        # initdb reads the password from a file its own user can read; it is removed at once.
        local tmp=$PGHOME/.pw
        cp "$PWFILE" "$tmp"
        [[ $(id -u) -eq 0 ]] && chown postgres: "$tmp"
        pg "$PGBIN/initdb" -D "$DATA" -U portal --pwfile="$tmp" --auth=scram-sha-256 \
            -E UTF8 --locale=C.UTF-8 >/dev/null
        rm -f "$tmp"
        echo "$PORT" >"$PORTFILE"
        cat <<CONF | pg tee -a "$DATA/postgresql.conf" >/dev/null
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$SOCK'
shared_buffers = 256MB
work_mem = 32MB
maintenance_work_mem = 256MB
CONF
        if [[ "${PORTAL_PG_DURABLE:-0}" != 1 ]]; then
            cat <<CONF | pg tee -a "$DATA/postgresql.conf" >/dev/null
fsync = off                   # a development and test cluster: speed over crash safety
synchronous_commit = off
full_page_writes = off
CONF
        fi
    fi
    if pg "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
        return 0
    fi
    echo "==> starting PostgreSQL on 127.0.0.1:$PORT"
    pg "$PGBIN/pg_ctl" -D "$DATA" -l "$PGHOME/server.log" -w -t 60 start >/dev/null
}

case "${1:-}" in
    start) start ;;
    stop) pg "$PGBIN/pg_ctl" -D "$DATA" -m fast stop ;;
    status) pg "$PGBIN/pg_ctl" -D "$DATA" status ;;
    url) url "${2:-}" ;;
    createdb) start; .venv/bin/python -m portal.dbsetup create ${2:+"$2"} ;;
    grant) .venv/bin/python -m portal.dbsetup grant ${2:+"$2"} ;;
    replica) replica "${2:-}" "${3:-}" ;;
    *) echo "usage: $0 start|stop|status|createdb [NAME]|grant [NAME]|url [NAME]|replica …" >&2; exit 2 ;;
esac
