"""The one-year review with a year of Hanoi's volume (issue 15: the city's year under 300 ms p50,
a commune's month under 100 ms).

Builds the whole Hanoi demo in a fresh database, the demo's year of patrols (≈ 532,000 done) and
of tips and incidents (≈ 17,900 tips, ≈ 7,450 team items) on it, then times the review pages
through the Flask test client signed in as the user who opens them: 2 warm-ups, then RUNS runs,
p50 and p99. Ours: the review as it is, whole months read from the figures the triggers keep
(review_communes for the city, review_patrols and review_incidents for a commune or a team),
the days outside whole months from the rows. The baseline, in the same process on the same data:
the same pages with every figure aggregated from the raw rows on request (Period.whole_months
patched to answer None, so that the whole period is read as days outside whole months: patrols,
items, and whether each village was patrolled, from the rows themselves).

It also checks, before timing, that both ways give the same figures, and that the city's year
has figures of the report's order (printed).

BENCH_KEEP=1 keeps the database after the run and uses it again on the next (no seeding).

Prints one line per page, last:
    page=<name> p50_ms=… p99_ms=… bytes=… baseline_p50_ms=… baseline_ratio=…
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import datetime

from common import (
    DEMO_DATA,
    analyze,
    bench_app,
    drop,
    fresh_database,
    opener,
    page_lines,
    signed_in,
    timed,
)
from flask import g
from sqlalchemy import create_engine, select, text

from portal.config import local_database_url
from portal.demo.incidents import seed_incidents
from portal.demo.patrols import seed_patrols
from portal.demo.seed import seed
from portal.extensions import db
from portal.incidents.filters import LOCAL_TZ
from portal.models import Account
from portal.review import periods, queries, services
from portal.review.periods import Period
from portal.review.queries import Place
from portal.scope import Scope

RUNS = 40
BASELINE_RUNS = 5  # the raw aggregation takes seconds a page


@contextlib.contextmanager
def from_raw_rows() -> Iterator[None]:
    """Every period read as days outside whole months: the figures aggregated from the rows."""
    saved = Period.whole_months
    Period.whole_months = lambda self: None
    queries.forget_statements()  # the statements kept were built for whole months
    try:
        yield
    finally:
        Period.whole_months = saved
        queries.forget_statements()


def figures(app, period: Period, place: Place) -> services.Figures:
    with app.test_request_context():
        g.scope = Scope("admin", 1)
        found = services.review(period, place).figures
        db.session.remove()
        return found


def same(a: services.Figures, b: services.Figures) -> bool:
    """Equal figures (sums of seconds added in another order may differ in the last bits)."""
    x, y = asdict(a), asdict(b)
    seconds = abs(x.pop("pass_seconds") - y.pop("pass_seconds")) <= 1e-6 * max(
        1.0, abs(y.get("pass_seconds", 1))
    )
    return seconds and x == y


def seeded(url: str) -> bool:
    """Whether the benchmark's database already holds its year (BENCH_KEEP=1 keeps it)."""
    with contextlib.suppress(Exception):
        engine = create_engine(url)
        with engine.connect() as connection:
            done = connection.execute(text("SELECT count(*) FROM patrols")).scalar()
        engine.dispose()
        return bool(done)
    return False


def main(scale: float = 1.0) -> None:
    name = "antt_portal_bench_review"
    keep = os.environ.get("BENCH_KEEP") == "1"  # seed once, measure again and again
    url = local_database_url(name)
    reuse = keep and seeded(url)
    if not reuse:
        url = fresh_database(name)
    app = bench_app(url)
    try:
        with app.app_context():
            if not reuse:
                start = time.perf_counter()
                seed(DEMO_DATA, echo=lambda _line: None)
                print(f"seeded the Hanoi demo in {time.perf_counter() - start:.0f} s")
                for what, step in (("patrols", seed_patrols), ("incidents", seed_incidents)):
                    start = time.perf_counter()
                    summary = step(scale=scale)
                    print(f"a year of {what} in {time.perf_counter() - start:.0f} s: {summary}")
                db.session.commit()
            officer_commune = db.session.scalar(
                select(Account.commune_id).where(Account.username == "canbo.xa")
            )
            db.session.remove()
        analyze(url)
        today = datetime.now(LOCAL_TZ).date()
        last_month = periods.add_months(today.replace(day=1), -1)
        year = periods.parse({"kind": "twelve"}, today)
        month = Period("month", last_month, today.replace(day=1))
        city, commune = Place("city"), Place("commune", officer_commune)
        ours_city = figures(app, year, city)
        with from_raw_rows():
            raw_city = figures(app, year, city)
            raw_commune = figures(app, month, commune)
        assert same(ours_city, raw_city), (ours_city, raw_city)
        assert same(figures(app, month, commune), raw_commune)
        f = ours_city
        print(
            f"city {year.label}: teams={f.teams} members={f.members} tips={f.tips}"
            f" valuable={f.valuable} patrols={f.patrols} violations={f.violations}"
            f" fire={f.fire} rescue={f.rescue} coverage={f.coverage:.1f}%"
        )
        admin = signed_in(app, "quantri")
        officer = signed_in(app, "canbo.xa")
        month_args = f"kind=month&year={last_month.year}&month={last_month.month}"
        pages = {
            "review_city_year": (admin, "/review/?kind=twelve"),
            "review_city_year_fragment": (admin, "/review/?kind=twelve"),
            "review_commune_month": (officer, f"/review/?{month_args}"),
            "review_commune_year": (officer, "/review/?kind=twelve"),
        }
        hx = {"HX-Request": "true", "HX-Target": "review"}

        def page(name: str) -> Callable[[], int]:
            client, path = pages[name]
            if name.endswith("_fragment"):
                return lambda: len(client.get(path, headers=hx).get_data())
            return opener(client, path)

        ours = {name: timed(page(name), RUNS) for name in pages}
        with from_raw_rows():
            plain = {name: timed(page(name), BASELINE_RUNS) for name in pages}
        lines = page_lines(ours, plain)
        print("\n".join(lines))
    finally:
        with contextlib.suppress(Exception), app.app_context():
            db.session.remove()
            db.engine.dispose()
        if not keep:
            drop(url)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
