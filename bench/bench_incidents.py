"""Incidents and tips with a year of Hanoi's volume (issue 13: the commune queue, the commune map
and the city map each under 200 ms p50; tip intake, placement included, under 20 ms p50 in the
service).

Builds the whole Hanoi demo in a fresh database and the demo's year of incidents and tips on it
(portal.demo.incidents: about 17,900 tips and 7,450 team incidents), then times each page through
the Flask test client signed in as the user who opens it: 2 warm-ups, then RUNS runs, p50 and p99.
Tip intake is timed in the service (portal.tips.services.submit: parse, place, count against the
limits, store with a receipt, commit) at random points inside Hanoi's villages.

Baselines, run in the same process on the same data:
- the queue and the maps without the indexes on incidents (commune and time received, time
  occurred, village, team): dropped for the baseline runs and made again after;
- the city's heat map fed every item of the period as its own point instead of cells counted on
  the server;
- tip intake placing the point on the whole village polygons instead of their subdivided parts.

Prints one line per measurement, last:
    page=<name> p50_ms=… p99_ms=… bytes=… baseline_p50_ms=… baseline_ratio=…
"""

from __future__ import annotations

import contextlib
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
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
    without_indexes,
)
from sqlalchemy import func, literal, select

from portal.demo.incidents import seed_incidents
from portal.demo.seed import seed
from portal.extensions import db
from portal.incidents import maps as incident_maps
from portal.incidents.filters import LOCAL_TZ
from portal.lookup import queries as lookup_queries
from portal.models import Area, Incident
from portal.tips import services as tips

RUNS = 20
WARMUPS = 2
INDEXES = {
    "ix_incidents_commune_received": (
        "CREATE INDEX ix_incidents_commune_received ON incidents (commune_id, received_at)"
    ),
    "ix_incidents_occurred": "CREATE INDEX ix_incidents_occurred ON incidents (occurred_at)",
    "ix_incidents_received": "CREATE INDEX ix_incidents_received ON incidents (received_at)",
    "ix_incidents_area_occurred": (
        "CREATE INDEX ix_incidents_area_occurred ON incidents (area_id, occurred_at)"
    ),
    "ix_incidents_team_occurred": (
        "CREATE INDEX ix_incidents_team_occurred ON incidents (team_id, occurred_at)"
    ),
}


@contextlib.contextmanager
def heat_from_raw_points() -> Iterator[None]:
    """The heat map fed one point per item, as a page without server aggregation would be."""
    saved = incident_maps.grid_query

    def raw(scope, filters, grid=incident_maps.GRID):
        return incident_maps._filtered(
            scope, filters, func.ST_Y(Incident.geom), func.ST_X(Incident.geom), literal(1)
        )

    incident_maps.grid_query = raw
    try:
        yield
    finally:
        incident_maps.grid_query = saved


@contextlib.contextmanager
def placing_on_whole_polygons() -> Iterator[None]:
    saved = lookup_queries.areas_at
    lookup_queries.areas_at = lookup_queries.areas_at_whole_polygons
    try:
        yield
    finally:
        lookup_queries.areas_at = saved


def intake(app, points: list[tuple[float, float]]) -> Callable[[], float]:
    """One tip through the service at the next point, from the next address: the time the
    service took (parse, place, limits, store, commit), without the request context around it."""
    turn = iter(range(10**9))

    def send() -> float:
        i = next(turn)
        lat, lon = points[i % len(points)]
        data = {
            "kind": "theft",
            "occurred_at": datetime.now(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M"),
            "description": "Mất trộm xe máy trước cửa nhà (benchmark)",
            "lat": f"{lat:.6f}",
            "lon": f"{lon:.6f}",
        }
        with app.test_request_context("/api/tips", method="POST"):
            start = time.perf_counter()
            tips.submit(tips.parse(data), f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", None)
            took = (time.perf_counter() - start) * 1000
            db.session.remove()
        return took

    return send


def service_times(send: Callable[[], float], runs: int) -> tuple[float, float]:
    for _ in range(WARMUPS):
        send()
    times = sorted(send() for _ in range(runs))
    return statistics.median(times), times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]


def village_points(count: int) -> list[tuple[float, float]]:
    """Random points inside random current villages (lat, lon)."""
    rows = db.session.execute(
        select(
            func.ST_Y(func.ST_PointOnSurface(Area.geom)),
            func.ST_X(func.ST_PointOnSurface(Area.geom)),
        )
        .where(Area.level == "village", Area.valid_to.is_(None))
        .order_by(func.random())
        .limit(count)
    ).all()
    return [(lat, lon) for lat, lon in rows]


def main(scale: float = 1.0) -> None:
    url = fresh_database("antt_portal_bench_incidents")
    app = bench_app(url)
    app.config.update(TIP_MAX_PER_HOUR=10**9, TIP_MAX_PER_DAY=10**9)
    try:
        with app.app_context():
            start = time.perf_counter()
            seed(DEMO_DATA, echo=lambda _line: None)
            print(f"seeded the Hanoi demo in {time.perf_counter() - start:.0f} s")
            start = time.perf_counter()
            summary = seed_incidents(scale=scale)
            print(f"a year of incidents in {time.perf_counter() - start:.1f} s: {summary}")
            db.session.commit()
            total = db.session.scalar(select(func.count()).select_from(Incident))
            print(f"incidents={total}")
            random.seed(13)
            points = village_points(500)
            db.session.remove()
        analyze(url)
        officer = signed_in(app, "canbo.xa")
        admin = signed_in(app, "quantri")
        leader = signed_in(app, "totruong")
        today = datetime.now(LOCAL_TZ).date()
        year = f"from={today.replace(year=today.year - 1)}&to={today}"
        pages = {
            "commune_queue": (officer, "/incidents/"),
            "commune_queue_year": (officer, f"/incidents/?open=0&{year}"),
            "leader_queue_year": (leader, f"/incidents/?open=0&{year}"),
            "city_queue_year": (admin, f"/incidents/?open=0&{year}"),
            "commune_map_month": (officer, "/incidents/map"),
            "commune_map_year": (officer, f"/incidents/map?{year}"),
            "city_map_year_heat": (admin, f"/incidents/map?{year}&view=heat"),
            "city_map_year_villages": (admin, f"/incidents/map?{year}&view=villages"),
        }
        ours = {name: timed(opener(client, path), RUNS) for name, (client, path) in pages.items()}
        with without_indexes(url, INDEXES):
            plain = {name: timed(opener(client, path), 5) for name, (client, path) in pages.items()}
        with heat_from_raw_points():
            client, path = pages["city_map_year_heat"]
            plain["city_map_year_heat"] = timed(opener(client, path), 5)
        intake_ours = service_times(intake(app, points), 200)
        with placing_on_whole_polygons():
            intake_plain = service_times(intake(app, points[::-1]), 100)
        lines = page_lines(ours, plain)
        lines.append(
            f"tip_intake p50_ms={intake_ours[0]:.1f} p99_ms={intake_ours[1]:.1f}"
            f" baseline_p50_ms={intake_plain[0]:.1f}"
            f" baseline_ratio={intake_plain[0] / intake_ours[0]:.1f}"
        )
        print("\n".join(lines))
    finally:
        with contextlib.suppress(Exception), app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop(url)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
