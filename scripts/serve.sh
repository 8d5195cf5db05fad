#!/usr/bin/env bash
# Serves the portal under gunicorn, never as root, with the job worker beside it (what `make run`
# runs after set-up), with gunicorn's settings in deploy/gunicorn.conf.py (JSON logs, metrics).
#   BIND=127.0.0.1:5000 WORKERS=2 scripts/serve.sh [extra gunicorn options]
# The worker (`flask --app wsgi worker`, portal/jobs) runs in the background and is started again
# if it dies; gunicorn replaces this script, so Ctrl-C or a signal to the group stops both.
# As root, it makes an unprivileged system user (PORTAL_USER, default antt-portal), hands it the
# two secrets it needs (the session key and the portal role's database password, readable by it
# alone), and runs gunicorn as that user: the bootstrap superuser's and the schema owner's
# passwords stay readable by root only. Anyone else runs gunicorn as themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIND=${BIND:-127.0.0.1:5000}
WORKERS=${WORKERS:-2}
SERVICE_USER=${PORTAL_USER:-antt-portal}
# gunicorn's access log is off (deploy/gunicorn.conf.py): the portal writes its own line per
# request, with no client address, no query string and no path values (portal/logs.py), so a
# reporter's address is never stored, nor the receipt codes tips' pages carry in their URLs.
# The workers share their metrics in a folder of the service user's; the job worker does not
# write there (its figures would outlive it: gunicorn clears only its own workers').
METRICS_DIR=$ROOT/.local/run/metrics
GUNICORN=(env "PROMETHEUS_MULTIPROC_DIR=$METRICS_DIR"
          .venv/bin/gunicorn -c deploy/gunicorn.conf.py --workers "$WORKERS" --bind "$BIND"
          "$@" 'wsgi:app')

WORKER=(.venv/bin/flask --app wsgi worker)
SERVER_PID=$$  # gunicorn's, once exec'd below

# The job worker, restarted should it die (a crash, or killed), for as long as gunicorn runs.
start_worker() {
    while kill -0 "$SERVER_PID" 2>/dev/null; do
        "$@" || echo "==> the job worker stopped ($?); starting it again" >&2
        sleep 2
    done &
}

mkdir -p "$METRICS_DIR"
chmod 711 .local/run

if [[ $(id -u) -ne 0 ]]; then
    start_worker "${WORKER[@]}"
    exec "${GUNICORN[@]}"
fi

if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
    echo "==> creating the system user $SERVICE_USER, which serves the portal"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$SERVICE_USER"
fi

# The user must reach the code and the Python it runs on. Where a folder on the way is closed
# to it (a clone under /root, pyenv's Python), it gets leave to pass through that folder only:
# an ACL entry for this one user, with no right to list or read the folder.
as_user() { setpriv --reuid="$SERVICE_USER" --regid="$SERVICE_USER" --init-groups -- "$@"; }
let_through() {
    local path=$1 dir=/
    local IFS=/
    for part in ${path#/}; do
        dir=${dir%/}/$part
        [[ -d $dir ]] || break
        if ! as_user test -x "$dir"; then
            echo "==> letting $SERVICE_USER pass through $dir (setfacl u:$SERVICE_USER:x)"
            setfacl -m "u:$SERVICE_USER:x" "$dir"
        fi
    done
}
let_through "$ROOT/.venv/bin"
let_through "$(dirname "$(readlink -f .venv/bin/python)")"

# Secrets: the user's own, mode 600. .local itself may be passed through but not listed.
chmod 711 .local
chown "$SERVICE_USER": .local/secret_key
chmod 600 .local/secret_key
if [[ -f .local/pg.app.password ]]; then
    chown "$SERVICE_USER": .local/pg.app.password
    chmod 600 .local/pg.app.password
fi
[[ -f .local/pg.port ]] && chmod 644 .local/pg.port  # not a secret
[[ -f .local/pg.replica.port ]] && chmod 644 .local/pg.replica.port  # issue 16: the replica's
for secret in .local/pg.password .local/pg.owner.password; do
    [[ -f $secret ]] && chown root: "$secret" && chmod 600 "$secret"
done
chown "$SERVICE_USER": "$METRICS_DIR"  # its own: gunicorn empties it at start
chmod 700 "$METRICS_DIR"

cd "$ROOT"
AS_SERVICE=(setpriv --reuid="$SERVICE_USER" --regid="$SERVICE_USER" --init-groups --no-new-privs
            --pdeathsig TERM -- env HOME=/nonexistent)
start_worker "${AS_SERVICE[@]}" "${WORKER[@]}"
exec "${AS_SERVICE[@]}" "${GUNICORN[@]}"
