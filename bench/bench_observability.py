"""What the logs and metrics of issue 18 cost a request, and what a Prometheus scrape costs, at
Hanoi scale (the whole demo: 126 communes, ≈ 5,400 villages, with its jobs).

Every request now goes through portal.logs.RequestLog (the request id, one JSON access line)
and prometheus_flask_exporter's hooks (a histogram and a counter by URL rule). Ours: the app as
it is. The baseline: the same app in the same process with those layers taken off (the WSGI
wrapper unwrapped, the exporter's and the logs' hooks removed), so the difference is their cost.
The access lines go to a null stream: what is measured is making them, not the terminal.
Pages, through Flask's test client signed in as the city admin `quantri`:
    livez          GET /livez (the smallest answer: the layers' share is largest)
    areas          GET /areas/ (a staff page)
    coverage_city  GET /coverage/ (the heaviest staff page the admin opens first)
    retention      GET /retention/ (the retention page: what tonight's run would delete, the runs)
and the scrape, GET /metrics from the machine itself (the jobs' figures read from the database).
Prints its figures last:
    page=areas p50_ms=… p99_ms=… baseline_p50_ms=… overhead_ms=… baseline_ratio=…
    scrape p50_ms=… p99_ms=… bytes=…
"""

from __future__ import annotations

import contextlib
import io
import sys
from datetime import UTC, datetime

from common import DEMO_DATA, analyze, bench_app, drop, fresh_database, opener, signed_in, timed
from sqlalchemy import func, select

from portal import logs
from portal.demo.incidents import seed_incidents
from portal.demo.seed import seed
from portal.extensions import db
from portal.models import TipContact
from portal.retention.services import months_before

RUNS = 200
PAGES = {
    "livez": "/livez",
    "areas": "/areas/",
    "coverage_city": "/coverage/",
    "retention": "/retention/",  # issue 18's staff page: tonight's counts and the runs
}


def without_observability(app) -> None:
    """The app as it was before issue 18: no request log layer, no exporter or route hooks."""
    if isinstance(app.wsgi_app, logs.RequestLog):
        app.wsgi_app = app.wsgi_app.wsgi_app
    for hooks in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs):
        for key, funcs in hooks.items():
            hooks[key] = [
                f
                for f in funcs
                if not f.__module__.startswith(("prometheus_flask_exporter", "portal.logs"))
            ]


def quietly(function):
    """`function` with the JSON lines made and formatted as in production, then dropped (the
    portal's handler writes to whatever sys.stderr is; a fresh buffer each call)."""

    def run():
        with contextlib.redirect_stderr(io.StringIO()):
            return function()

    return run


def main() -> None:
    url = fresh_database("antt_portal_bench_observability")
    try:
        ours_app = bench_app(url)
        with ours_app.app_context():
            seed(DEMO_DATA, echo=lambda _l: None)
            # a year of tips and incidents ending six months ago: about half of the tips'
            # contacts are past the 12 months, for the retention page's count
            seed_incidents(now=months_before(datetime.now(UTC), 6))
            db.session.commit()
            contacts = db.session.scalar(select(func.count()).select_from(TipContact))
            db.session.remove()
        analyze(url)
        plain_app = bench_app(url)
        without_observability(plain_app)
        lines = [f"tips' contacts kept: {contacts}"]
        for name, path in PAGES.items():
            ours = signed_in(ours_app, "quantri")
            plain = signed_in(plain_app, "quantri")
            # alternated, twice, the lower median of each: the machine is shared and noisy
            runs = []
            for _round in range(2):
                runs.append(("ours", *timed(quietly(opener(ours, path)), RUNS)))
                runs.append(("plain", *timed(quietly(opener(plain, path)), RUNS)))
            p50, p99, size = min((r[1:] for r in runs if r[0] == "ours"), key=lambda r: r[0])
            base50 = min(r[1] for r in runs if r[0] == "plain")
            lines.append(
                f"page={name} p50_ms={p50:.2f} p99_ms={p99:.2f} bytes={size}"
                f" baseline_p50_ms={base50:.2f} overhead_ms={p50 - base50:.2f}"
                f" baseline_ratio={base50 / p50:.2f}"
            )
        scraper = ours_app.test_client()
        scrape50, scrape99, scraped = timed(quietly(opener(scraper, "/metrics")), RUNS // 4)
        lines.append(f"scrape p50_ms={scrape50:.1f} p99_ms={scrape99:.1f} bytes={scraped}")
    finally:
        drop(url)
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
