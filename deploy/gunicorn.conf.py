"""gunicorn's settings for the portal: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

Used by `make run` (scripts/serve.sh) and the systemd unit. Environment:
  PORTAL_BIND              address to listen on (default 127.0.0.1:5000; nginx in front)
  PORTAL_WORKERS           worker processes (default 2)
  PROMETHEUS_MULTIPROC_DIR a folder the service user may write, where the workers share their
                           metrics (portal/metrics.py); emptied when gunicorn starts
Logs: JSON lines on stderr, gunicorn's own and the portal's alike (portal/logs.py). gunicorn's
access log is off: the portal writes its own line per request, without the client's address,
the query string or the path's values.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # portal.logs, for the logging configuration below
    sys.path.insert(0, str(ROOT))

wsgi_app = "wsgi:app"
chdir = str(ROOT)
bind = [os.environ.get("PORTAL_BIND", "127.0.0.1:5000")]
workers = int(os.environ.get("PORTAL_WORKERS", "2"))
# its default socket path is shared by every gunicorn of the user, and nothing here uses it
control_socket_disable = True
accesslog = None

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "portal.logs.RequestContext"},
        "redact": {"()": "portal.logs.Redact"},
    },
    "formatters": {"json": {"()": "portal.logs.JsonFormatter"}},
    "handlers": {
        "json": {
            "class": "portal.logs.StderrHandler",
            "formatter": "json",
            "filters": ["context", "redact"],
        }
    },
    "root": {"level": os.environ.get("PORTAL_LOG_LEVEL", "INFO").upper(), "handlers": ["json"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        # gunicorn turns its access log on with any logging configuration: off again here
        "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
    },
}


def on_starting(server):
    """A clean metrics folder: files of workers from an earlier run would be counted."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return
    path = Path(folder)
    if path.is_dir():
        for entry in path.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    else:
        path.mkdir(mode=0o700, parents=True)


def child_exit(server, worker):
    """A worker's live gauges (its pool) leave the sums with it."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

        GunicornInternalPrometheusMetrics.mark_process_dead_on_child_exit(worker.pid)
