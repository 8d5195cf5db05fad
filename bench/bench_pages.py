"""The heaviest staff pages and fragments at Hanoi scale (issue 11: each under 300 ms).

Builds the whole Hanoi demo in a fresh database, stores a 5,000-feature upload of the city's
villages as a draft batch (shrunk, renamed and self-intersecting ones among them), then times
each page through the Flask test client signed in as the user who opens it (admin `quantri`,
officer `canbo.xa`): 2 warm-ups, then RUNS runs, p50 and p99. Where this change made a page
cheaper, its baseline is the same page computed as before, in the same process:
- the dry run and its problems fragment rebuild the plan from the JSON the batch used to keep
  (planning.plan_from_json), its rows and, for the page, the map with every feature inline;
- the boundaries list also reads the batches' stored JSON, as its query used to;
- the area browser simplifies and measures the full boundaries, and reads them in its lists.
A village traced with a 200,000-vertex ring is planted last (the coverage pages, not this
change's, would take seconds with it) and the pages showing it are timed the same way.

A baseline is a function run in place of the page (see Page.baseline): the coverage pages
have none yet; the engineer who stores coverage per commune plugs theirs in.

Prints one line per page, last:
    page=<name> p50_ms=… p99_ms=… baseline_p50_ms=… baseline_ratio=…
"""

from __future__ import annotations

import contextlib
import gc
import json
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace

import shapely
from common import DEMO_DATA, analyze, bench_app, drop, fresh_database, signed_in
from flask import render_template
from geoalchemy2.shape import to_shape
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import undefer

from geo import maps
from geo.partition import as_multipolygon
from portal import mapping
from portal.areas import queries as area_queries
from portal.boundaries import batches, planning
from portal.config import local_database_url
from portal.demo.seed import seed
from portal.extensions import db
from portal.models import Account, Area, ImportBatch, Level, Team
from portal.pagination import Page

RUNS = 20
WARMUPS = 2
FEATURES = 5000
HX = {"HX-Request": "true"}


@dataclass
class PageRun:
    name: str
    client: object
    path: str
    headers: dict | None = None
    # the same page computed as before this change; None where it did not change the page
    baseline: Callable[[], object] | None = None

    def open(self) -> None:
        response = self.client.get(self.path, headers=self.headers or {})
        if response.status_code != 200:
            raise AssertionError(f"{self.name}: {self.path} answered {response.status_code}")
        response.get_data()


def timed(function: Callable[[], object]) -> tuple[float, float]:
    for _ in range(WARMUPS):
        function()
    runs = []
    for _ in range(RUNS):
        start = time.perf_counter()
        function()
        runs.append((time.perf_counter() - start) * 1000)
    runs.sort()
    return statistics.median(runs), runs[min(len(runs) - 1, round(0.99 * (len(runs) - 1)))]


# --- the upload --------------------------------------------------------------------------------


def villages_file(n: int) -> bytes:
    """The first n villages of the city as a GeoJSON upload: one in ten shrunk (an update and
    gaps), one in thirteen renamed, one in ninety-seven a bow tie (an invalid shape)."""
    rows = db.session.execute(
        select(Area.code, Area.name, Area.geom)
        .where(Area.level == Level.VILLAGE.value, Area.valid_to.is_(None))
        .order_by(Area.id)
        .limit(n)
    ).all()
    features = []
    for k, (code, name, geom) in enumerate(rows):
        shape = to_shape(geom)
        if k % 10 == 0:
            shape = shape.buffer(-0.00005)
        if k % 97 == 0:
            x0, y0, x1, y1 = shape.bounds
            shape = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1), (x0, y0)])
        features.append(
            {
                "type": "Feature",
                "properties": {"code": code, "name": name + (" mới" if k % 13 == 0 else "")},
                "geometry": shapely.geometry.mapping(shape),
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def store_upload(url: str) -> tuple[int, dict]:
    """The upload as a draft batch (rows, as the portal keeps it now), and its plan's JSON as
    the batch used to keep it, in a scratch table the baselines read."""
    data = villages_file(FEATURES)
    start = time.perf_counter()
    plan = planning.plan_file(data, "hanoi-5000.geojson", Level.VILLAGE)
    print(f"planned {len(plan.items)} features in {time.perf_counter() - start:.1f} s")
    admin = db.session.scalar(select(Account.id).where(Account.username == "quantri"))
    batch = ImportBatch(
        created_by=admin,
        filename="hanoi-5000.geojson",
        level="village",
        source_crs=plan.source_crs,
        status="draft",
    )
    db.session.add(batch)
    start = time.perf_counter()
    batches.save_plan(batch, plan)
    db.session.commit()
    print(f"stored the dry run as rows in {time.perf_counter() - start:.1f} s")
    features, problems = planning.plan_to_json(plan)
    name = url.rsplit("/", 1)[1]
    owner = create_engine(local_database_url(name, role="owner"))
    with owner.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE bench_old_batches (id integer PRIMARY KEY, filename text,"
                " level text, status text, created_at timestamptz, source_crs text,"
                " features jsonb, problems jsonb)"
            )
        )
        connection.execute(text("GRANT SELECT ON bench_old_batches TO portal_app"))
        connection.execute(
            text(
                "INSERT INTO bench_old_batches VALUES (:id, :f, 'village', 'draft', now(), :crs,"
                " CAST(:features AS jsonb), CAST(:problems AS jsonb))"
            ),
            {
                "id": batch.id,
                "f": batch.filename,
                "crs": plan.source_crs,
                "features": json.dumps(features),
                "problems": json.dumps(problems),
            },
        )
    owner.dispose()
    return batch.id, batches.bounds(batch)


# --- baselines: the pages as they were computed before ------------------------------------------


def _old_plan(batch_id: int) -> tuple[object, planning.Plan]:
    row = db.session.execute(
        text("SELECT * FROM bench_old_batches WHERE id = :id"), {"id": batch_id}
    ).one()
    plan = planning.plan_from_json(row.level, row.source_crs, row.features, row.problems)
    return row, plan


def _old_rows(plan: planning.Plan, page: int) -> tuple[Page, dict]:
    names = {i.feature.index: i.feature.name for i in plan.items}
    codes = {i.feature.index: i.feature.code for i in plan.items}
    rows = [
        batches.Row(p.index, p.code, names.get(p.index), "error", planning.describe(p), p.where)
        for p in plan.problems
    ] + [
        batches.Row(
            w.index,
            codes.get(w.index),
            names.get(w.index),
            "warning",
            planning.describe_warning(w),
            w.where,
        )
        for w in plan.warnings
    ]
    rows.sort(key=lambda r: (r.severity != "error", r.index == 0, r.index))
    counts: dict[str, int] = {}
    for item in plan.items:
        counts[item.action] = counts.get(item.action, 0) + 1
    return Page(rows[(page - 1) * 50 : page * 50], page, 50, len(rows)), counts


def _old_map(plan: planning.Plan) -> maps.MapParts:
    """The dry run's map as it was: every feature inline, simplified in Python."""
    shapes = [i.feature.geometry or i.feature.repaired for i in plan.items]
    shapes = [s for s in shapes if s is not None]
    bounds = shapely.union_all([shapely.box(*s.bounds) for s in shapes]).bounds
    tolerance = mapping.tolerance(bounds)
    troubled = {p.index for p in plan.problems}
    warned = {w.index for w in plan.warnings}
    features = []
    for item in plan.items:
        geom = item.feature.geometry or item.feature.repaired
        if geom is None:
            continue
        index = item.feature.index
        status = "error" if index in troubled else "warning" if index in warned else "ok"
        label = f"#{index} {item.feature.name or ''} ({item.feature.code or '—'})"
        features.append(
            {
                "type": "Feature",
                "geometry": maps.display_shape(geom, tolerance),
                "properties": {"status": status, "label": label},
            }
        )
    issues = [
        {
            "type": "Feature",
            "geometry": maps.display_shape(as_multipolygon(w.shape), tolerance / 4),
            "properties": {"status": "issue", "label": planning.describe_warning(w)},
        }
        for w in plan.warnings
        if w.shape is not None and not as_multipolygon(w.shape).is_empty
    ]
    m = mapping.new_map(bounds)
    for name, layer in (("features", features), ("issues", issues)):
        maps.add_status_layer(
            m, {"type": "FeatureCollection", "features": layer}, name, maps.STATUS_STYLES
        )
    return mapping.render(m)


def old_dry_run(app, batch_id: int, page: int = 1, with_map: bool = True) -> Callable:
    def run() -> int:
        with app.test_request_context("/"):
            _row, plan = _old_plan(batch_id)
            rows, counts = _old_rows(plan, page)
            plan.writable(repairs=True, clean_only=False)
            plan.writable(repairs=False, clean_only=True)
            view = SimpleNamespace(rows=rows, batch=SimpleNamespace(id=batch_id), counts=counts)
            body = render_template("boundaries/_problems.html", view=view)
            if with_map:
                parts = _old_map(plan)
                body += parts.html + parts.script
            db.session.remove()
            return len(body)

    return run


def old_boundaries_list(page: PageRun) -> Callable:
    """The list as before: the same page, and the batches' JSON its query also read."""

    def run() -> None:
        page.open()
        with page.client.application.app_context():
            db.session.execute(
                text("SELECT * FROM bench_old_batches ORDER BY id DESC LIMIT 50")
            ).all()
            db.session.remove()

    return run


def _old_display_geojson(area_ids, tolerance):
    simplified = func.ST_SimplifyPreserveTopology(Area.geom, tolerance)
    return select(Area.id, Area.name, func.ST_AsGeoJSON(simplified, 6)).where(
        Area.id.in_(area_ids), Area.geom.is_not(None)
    )


def _old_extent(area_id):
    box = func.ST_Extent(Area.geom)
    return select(func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box)).where(
        Area.id == area_id
    )


def _old_land(area_id):
    return select(func.ST_Area(func.Geography(Area.geom))).where(Area.id == area_id)


@contextlib.contextmanager
def old_area_queries() -> Iterator[None]:
    """The area browser's queries as they were: full boundaries simplified and measured per
    view, and read whole in every list."""
    saved = {
        name: getattr(area_queries, name)
        for name in ("display_geojson", "extent", "land_area_m2", "WITHOUT_SHAPE")
    }
    area_queries.display_geojson = _old_display_geojson
    area_queries.extent = _old_extent
    area_queries.land_area_m2 = _old_land
    area_queries.WITHOUT_SHAPE = undefer(Area.geom)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(area_queries, name, value)


def with_old_areas(page: PageRun) -> Callable:
    def run() -> None:
        with old_area_queries():
            page.open()

    return run


def old_editor(app, area_id: int) -> Callable:
    """The boundary editor's map and geometry as they were: the full ring, read and simplified
    in Python, the neighbours likewise."""

    def run() -> int:
        with app.test_request_context("/"):
            area = db.session.get(Area, area_id)
            bounds = to_shape(area.geom).buffer(0.002).bounds
            tolerance = mapping.tolerance(bounds) / 3
            m = mapping.new_map(bounds)
            near = shapely.box(*bounds)
            neighbours = db.session.scalars(
                select(Area).where(
                    Area.parent_id == area.parent_id, Area.valid_to.is_(None), Area.id != area.id
                )
            )
            features = [
                {
                    "type": "Feature",
                    "geometry": maps.display_shape(to_shape(n.geom), tolerance),
                    "properties": {"name": n.name},
                }
                for n in neighbours
                if to_shape(n.geom).intersects(near)
            ]
            maps.add_children(m, {"type": "FeatureCollection", "features": features}, "x", ["name"])
            parts = mapping.render(m, extras=("geoman",))
            geometry = json.dumps(shapely.geometry.mapping(to_shape(area.geom)))
            db.session.remove()
            return len(parts.html) + len(parts.script) + len(geometry)

    return run


def plant_dense_ring(area_id: int, vertices: int = 200_000) -> None:
    """The village's boundary traced with about `vertices` points (the same shape)."""
    length = db.session.scalar(select(func.ST_Perimeter(Area.geom)).where(Area.id == area_id))
    db.session.execute(
        text("UPDATE areas SET geom = ST_Multi(ST_Segmentize(geom, :step)) WHERE id = :id"),
        {"step": length / vertices, "id": area_id},
    )
    db.session.commit()


# --- the run -------------------------------------------------------------------------------------


def ids() -> dict:
    found = {}
    found["province"] = db.session.scalar(select(Area.id).where(Area.level == "province"))
    found["ba_dinh"] = db.session.scalar(select(Area.id).where(Area.code == "00004"))
    found["village"] = db.session.scalar(
        select(Area.id).where(Area.parent_id == found["ba_dinh"]).order_by(Area.code).offset(2)
    )
    found["team"] = db.session.scalar(
        select(Team.id).where(Team.commune_id == found["ba_dinh"]).order_by(Team.id)
    )
    found["big_commune"] = db.session.scalar(
        select(Area.parent_id)
        .where(Area.level == "village", Area.valid_to.is_(None))
        .group_by(Area.parent_id)
        .order_by(func.count().desc())
        .limit(1)
    )
    return found


def measure(runs: list[PageRun]) -> list[str]:
    lines = []
    for page in runs:
        p50, p99 = timed(page.open)
        line = f"page={page.name} p50_ms={p50:.1f} p99_ms={p99:.1f}"
        if page.baseline is not None:
            base50, _ = timed(page.baseline)
            line += f" baseline_p50_ms={base50:.1f} baseline_ratio={base50 / p50:.1f}"
        else:
            line += " baseline_p50_ms=- baseline_ratio=-"
        print(line, flush=True)
        lines.append(line)
    return lines


def main() -> None:
    url = fresh_database("antt_portal_bench_pages")
    app = bench_app(url)
    with app.app_context():
        start = time.perf_counter()
        seed(DEMO_DATA, reset=True, echo=lambda _l: None)
        print(f"seeded Hanoi in {time.perf_counter() - start:.0f} s")
        batch_id, (west, south, east, north) = store_upload(url)
        place = ids()
        db.session.remove()
    analyze(url)
    # As wsgi.py does in a worker, what this process holds so far stays out of the collector's
    # full passes: a worker serving pages holds none of the benchmark's data, and a full pass
    # over it here cost 200 ms now and then (the p99 of whichever page it landed on).
    gc.collect()
    gc.freeze()
    admin, officer = signed_in(app, "quantri"), signed_in(app, "canbo.xa")
    public = app.test_client()
    batch = f"/boundaries/uploads/{batch_id}"
    city_view = f"{west},{south},{east},{north}"
    province, ba_dinh = place["province"], place["ba_dinh"]

    runs = [
        PageRun("coverage_city", admin, "/coverage/"),
        PageRun(
            "coverage_filter",
            admin,
            "/coverage/?kind=no_team",
            {**HX, "HX-Target": "problem-list"},
        ),
        PageRun("coverage_commune", officer, f"/coverage/{ba_dinh}"),
        PageRun("boundaries_list", admin, "/boundaries/"),
        PageRun("dry_run_5000", admin, batch, baseline=old_dry_run(app, batch_id)),
        PageRun(
            "dry_run_problems_page2",
            admin,
            f"{batch}?problems_page=2",
            {**HX, "HX-Target": "problems"},
            baseline=old_dry_run(app, batch_id, page=2, with_map=False),
        ),
        PageRun("dry_run_features_city_view", admin, f"{batch}/features.geojson?bbox={city_view}"),
        PageRun("team_page", officer, f"/teams/{place['team']}"),
        PageRun("teams_list", admin, "/teams/"),
        # issue 14: the list's columns (commune, villages, size, leader, status) come from one
        # query with the members and villages aggregated; sorted by status, and a filter's swap
        PageRun("teams_list_by_status", admin, "/teams/?sort=status"),
        PageRun(
            "teams_list_filter",
            admin,
            "/teams/?q=so+7&status=understaffed&sort=size&desc=1",
            {**HX, "HX-Target": "team-list"},
        ),
        PageRun("areas_index", admin, "/areas/"),
        PageRun("areas_city", admin, f"/areas/{province}"),
        PageRun(
            "areas_children_page2",
            admin,
            f"/areas/{province}?page=2",
            {**HX, "HX-Target": f"children-{province}"},
        ),
        PageRun(
            "areas_search", admin, "/areas/?q=to+dan+pho", {**HX, "HX-Target": "search-results"}
        ),
        PageRun("accounts_list", admin, "/accounts/"),
        PageRun(
            "merge_page_largest_commune",
            admin,
            f"/boundaries/communes/{place['big_commune']}/merge",
        ),
        PageRun("lookup_start", public, "/tra-cuu"),
        PageRun("lookup_card", public, f"/tra-cuu/{place['village']}"),
    ]
    for page in runs:
        if page.name == "boundaries_list":
            page.baseline = old_boundaries_list(page)
        if page.name in ("areas_city", "areas_children_page2", "areas_search"):
            page.baseline = with_old_areas(page)
    lines = measure(runs)

    # a village traced with a 200,000-vertex ring, and the pages that show it
    with app.app_context():
        plant_dense_ring(place["village"])
        db.session.remove()
    village = place["village"]
    ring_runs = [
        PageRun("ring_village_page", admin, f"/areas/{village}"),
        PageRun("ring_commune_page", officer, f"/areas/{ba_dinh}"),
        PageRun(
            "ring_village_editor",
            officer,
            f"/boundaries/villages/{village}/edit",
            baseline=old_editor(app, village),
        ),
        PageRun("ring_lookup_card", public, f"/tra-cuu/{village}"),
        PageRun("ring_team_page", officer, f"/teams/{place['team']}"),
    ]
    for page in ring_runs[:2]:
        page.baseline = with_old_areas(page)
    lines += measure(ring_runs)
    with app.app_context():
        db.engine.dispose()
    drop(url)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
