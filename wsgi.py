"""Entry point for gunicorn (`wsgi:app`) and `flask --app wsgi`."""

import gc

from portal import create_app

app = create_app()
# The app, its modules and their tables live as long as the worker: kept out of the collector's
# full passes, which then scan only what requests leave behind (bench_pages measures the same).
gc.freeze()
