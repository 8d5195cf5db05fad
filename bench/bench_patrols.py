"""Patrol pages with a year of Hanoi's patrols (issue 12: each under 200 ms p50).

Builds the whole Hanoi demo in a fresh database and a year of patrols on it (the demo's own
generator, portal.demo.patrols: about 532,000 done patrols and their members and findings), then
times each page through the Flask test client signed in as the user who opens it: 2 warm-ups,
then RUNS runs, p50 and p99.

Baselines, run in the same process on the same data:
- the lists and the duty sheet without the patrol indexes this change adds (team and day,
  commune and day, day): they are dropped for the baseline runs and made again after;
- the activity maps without the stored activity (patrol_activity): the same pages aggregating
  the raw patrols of the period, village by village, as the triggers do once per write.

Prints one line per page, last:
    page=<name> p50_ms=… p99_ms=… baseline_p50_ms=… baseline_ratio=…
"""

from __future__ import annotations

import contextlib
import gc
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta

from common import (
    DEMO_DATA,
    analyze,
    bench_app,
    drop,
    fresh_database,
    opener,
    signed_in,
    without_indexes,
)
from sqlalchemy import func, select

from portal.demo.seed import seed
from portal.extensions import db
from portal.models import Account, Patrol, PatrolActivity, Team
from portal.patrols import queries

RUNS = 20
WARMUPS = 2
INDEXES = {
    "ix_patrols_team_day": "CREATE INDEX ix_patrols_team_day ON patrols (team_id, day)",
    "ix_patrols_commune_day": "CREATE INDEX ix_patrols_commune_day ON patrols (commune_id, day)",
    "ix_patrols_day": "CREATE INDEX ix_patrols_day ON patrols (day)",
}


def timed(function: Callable[[], object]) -> tuple[float, float]:
    for _ in range(WARMUPS):
        function()
    start = time.perf_counter()
    function()
    # a baseline taking seconds a run is measured fewer times: its median is as clear
    runs_wanted = RUNS if time.perf_counter() - start < 1.0 else 5
    runs = []
    for _ in range(runs_wanted):
        start = time.perf_counter()
        function()
        runs.append((time.perf_counter() - start) * 1000)
    runs.sort()
    return statistics.median(runs), runs[min(len(runs) - 1, round(0.99 * (len(runs) - 1)))]


# --- baselines ----------------------------------------------------------------------------------


def _raw_per_village(first: date, last: date):
    """Done patrols per village and commune over whole months, from the raw patrols: the
    villages a patrol counts for as the triggers find them (patrol_areas)."""
    end = (last.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    area = func.patrol_areas(Patrol.team_id, Patrol.route_version_id, Patrol.day).column_valued(
        "area_id"
    )
    return (
        select(
            Patrol.commune_id,
            area.label("area_id"),
            func.count().label("patrols"),
            func.sum(Patrol.violations).label("violations"),
        )
        .where(Patrol.status == "done", Patrol.day >= first, Patrol.day <= end)
        .group_by(Patrol.commune_id, area)
    )


def raw_activity_by_village(commune_id: int, first: date, last: date):
    per = _raw_per_village(first, last).where(Patrol.commune_id == commune_id).subquery()
    return select(per.c.area_id, per.c.patrols, per.c.violations)


def raw_activity_by_commune(first: date, last: date):
    per = _raw_per_village(first, last).subquery()
    return select(
        per.c.commune_id,
        func.sum(per.c.patrols).label("patrols"),
        func.sum(per.c.violations).label("violations"),
        func.count().filter(per.c.patrols > 0).label("patrolled"),
    ).group_by(per.c.commune_id)


@contextlib.contextmanager
def without_aggregates() -> Iterator[None]:
    """The activity queries answered from the raw patrols instead of patrol_activity."""
    saved = (queries.activity_by_village, queries.activity_by_commune)
    queries.activity_by_village = raw_activity_by_village
    queries.activity_by_commune = raw_activity_by_commune
    try:
        yield
    finally:
        queries.activity_by_village, queries.activity_by_commune = saved


# --- the run ------------------------------------------------------------------------------------


def main(scale: float = 1.0) -> None:
    from portal.demo.patrols import seed_patrols

    url = fresh_database("antt_portal_bench_patrols")
    app = bench_app(url)
    try:
        with app.app_context():
            start = time.perf_counter()
            seed(DEMO_DATA, echo=lambda _line: None)
            print(f"seeded the Hanoi demo in {time.perf_counter() - start:.0f} s")
            start = time.perf_counter()
            summary = seed_patrols(scale=scale)
            print(f"a year of patrols in {time.perf_counter() - start:.0f} s: {summary}")
            db.session.commit()
            patrols = db.session.scalar(select(func.count()).select_from(Patrol))
            activity = db.session.scalar(select(func.count()).select_from(PatrolActivity))
            print(f"patrols={patrols} activity_rows={activity}")
            analyze(url)
            leader_team = db.session.scalar(
                select(Account.team_id).where(Account.username == "totruong")
            )
            officer_commune = db.session.scalar(
                select(Account.commune_id).where(Account.username == "canbo.xa")
            )
            busiest = db.session.scalar(
                select(Patrol.team_id)
                .group_by(Patrol.team_id)
                .order_by(func.count().desc())
                .limit(1)
            )
            team_count = db.session.scalar(select(func.count()).select_from(Team))
            db.session.remove()
        today = date.today()
        month = today.replace(day=1)
        last_month = (month - timedelta(days=1)).replace(day=1)
        year_ago = today - timedelta(days=365)
        m = last_month.strftime("%Y-%m")
        leader = signed_in(app, "totruong")
        officer = signed_in(app, "canbo.xa")
        admin = signed_in(app, "quantri")
        pages = {
            "leader_home": (leader, "/patrols/", "index"),
            "team_patrol_list_year": (
                leader,
                f"/patrols/log?from={year_ago.isoformat()}&to={today.isoformat()}",
                "index",
            ),
            "busiest_team_list_year": (
                admin,
                f"/patrols/log?from={year_ago.isoformat()}&to={today.isoformat()}"
                f"&team_id={busiest}",
                "index",
            ),
            "commune_month_list": (
                officer,
                f"/patrols/log?from={last_month.isoformat()}"
                f"&to={(month - timedelta(days=1)).isoformat()}",
                "index",
            ),
            "commune_month_activity": (
                officer,
                f"/patrols/activity?commune_id={officer_commune}&from={m}&to={m}",
                "aggregate",
            ),
            "city_activity_month": (admin, f"/patrols/activity?from={m}&to={m}", "aggregate"),
            "city_activity_year": (
                admin,
                f"/patrols/activity?from={(month - timedelta(days=330)).strftime('%Y-%m')}&to={m}",
                "aggregate",
            ),
            "team_duty_sheet_month": (leader, f"/duty/teams/{leader_team}?month={m}", "index"),
        }
        gc.collect()
        gc.freeze()
        results = {}
        sizes = {}
        # no app context around the requests: each pushes its own, as in a worker (an outer
        # one would share flask.g, and with it the signed-in account, between requests)
        for name, (client, path, _kind) in pages.items():
            open_page = opener(client, path)
            sizes[name] = open_page()
            results[name] = timed(open_page)
        baselines = {}
        with without_indexes(url, INDEXES):
            for name, (client, path, kind) in pages.items():
                if kind == "index":
                    baselines[name] = timed(opener(client, path))[0]
        with without_aggregates():
            for name, (client, path, kind) in pages.items():
                if kind == "aggregate":
                    baselines[name] = timed(opener(client, path))[0]
        print(f"teams={team_count} busiest_team={busiest}")
        for name, (p50, p99) in results.items():
            base = baselines.get(name)
            ratio = f"{base / p50:.1f}" if base else "-"
            base_text = f"{base:.1f}" if base else "-"
            print(
                f"page={name} p50_ms={p50:.1f} p99_ms={p99:.1f} bytes={sizes[name]}"
                f" baseline_p50_ms={base_text} baseline_ratio={ratio}"
            )
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop(url)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
