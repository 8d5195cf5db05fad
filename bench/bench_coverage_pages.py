"""The coverage pages at Hanoi scale (the whole demo: 126 communes, ≈ 5,400 villages), read from
the coverage stored per commune, against the same pages computed on each request as before.

Both go through Flask's test client signed in as the city admin `quantri`, and render the same
templates. Ours: the coverage views as they are (stored figures, problems filtered and paged in
SQL, stored map shapes). The baseline: a route of this benchmark that does what the views did
before figures were stored: services.compute_report() over every commune in scope (the
computation the refresh job runs), then filtering and paging in Python and the map from the
computed shapes. Pages:
    coverage_city     GET /coverage/
    coverage_filter   a change of the filter: the #problem-list fragment, kind and commune
    coverage_commune  GET /coverage/<id>, the communes with the most villages in turn
    coverage_csv      GET /coverage/problems.csv (the whole city)
Prints, besides the cost of a refresh of the whole city (the job's work), its figures last:
    page=coverage_city p50_ms=… p99_ms=… baseline_p50_ms=… baseline_ratio=…
"""

from __future__ import annotations

import itertools
import re
import statistics
import sys
import time
from datetime import UTC, datetime

from common import DEMO_DATA, bench_app, drop, fresh_database
from flask import render_template, request
from sqlalchemy import func, select

from portal.coverage import services
from portal.demo.seed import seed
from portal.downloads import attachment, csv_text
from portal.errors import NotFound
from portal.extensions import db, htmx
from portal.models import Area, CoverageCommune
from portal.pagination import Page
from portal.security import current_scope
from portal.web import id_arg, page_arg

RUNS = 60  # requests per page, ours
BASELINE_RUNS = 12  # requests per page computed on request (a second or so each)
HX = {"HX-Request": "true", "HX-Target": "problem-list"}


# --- the baseline: the pages as they were, computed on every request ------------------------


def on_request(commune_id: int | None) -> tuple[services.Overview, list, list]:
    """What the coverage views did before coverage was stored: compute every commune in scope
    (services.compute_report), then filter, rank and page the problems in Python."""
    services.require_planner()
    query = (
        select(Area.id, Area.code, Area.name)
        .where(Area.level == "commune", Area.valid_to.is_(None))
        .order_by(Area.code)
    )
    if commune_id is not None:
        query = query.where(Area.id == commune_id)
    communes = db.session.execute(current_scope().areas(query)).all()
    if commune_id and not communes:
        raise NotFound("no such commune")
    # a city page draws outlines only; a commune's page its villages as well
    # the city's map now draws the villages with a problem too, so both maps need the shapes
    computed = services.compute_report([c.id for c in communes], maps_of=True)
    now = datetime.now(UTC)
    names = {c.id: c.name for c in communes}
    figures, problems = [], []
    for (cid, code, name), result in zip(communes, computed, strict=True):
        row = {k: v for k, v in result.figures.items() if k != "outline"}
        figures.append(services.CommuneFigures(cid, code, name, now, None, **row))
        for p in result.problems:
            problems.append(
                services.Problem(
                    p["kind"],
                    names[cid],
                    p["name"],
                    p["members"],
                    p["population"],
                    p["area_m2"],
                    p["west"],
                    p["south"],
                    p["east"],
                    p["north"],
                    p["area_id"],
                    p["team_id"],
                    cid,
                )
            )
    problems.sort(key=lambda p: (-(p.population or 0), -(p.area_m2 or 0)))
    kind = request.args.get("kind", "")
    kind = kind if kind in services.KINDS else ""
    only, number = id_arg("commune"), page_arg()
    chosen = [
        p for p in problems if (not kind or p.kind == kind) and (not only or p.commune_id == only)
    ]
    per = services.PER_PAGE
    page = Page(chosen[(number - 1) * per : number * per], number, per, len(chosen))
    return services.Overview(commune_id is None, figures, page, kind, only), computed, problems


def baseline_map(result: services.Overview, computed: list):
    bounds = services._bounds(result.communes)
    if result.city:
        outlines = [
            (c.id, c.name, r.figures["outline"], c.villages, c.villages_with_team)
            for c, r in zip(result.communes, computed, strict=True)
        ]
        return services.city_map(bounds, outlines)
    (r,) = computed
    villages = [(v["area_id"], v["name"], v["status"], v["shape"]) for v in r.villages]
    unmapped = [p["shape"] for p in r.problems if p["kind"] == "unmapped"]
    return services.commune_map(bounds, villages, unmapped)


def baseline_page(commune_id: int | None = None):
    from portal.coverage.views import context

    result, computed, _problems = on_request(commune_id)
    if htmx and htmx.target == "problem-list":
        return render_template("coverage/_problems.html", **context(result, commune_id))
    return render_template(
        "coverage/page.html", map=baseline_map(result, computed), **context(result, commune_id)
    )


def baseline_csv():
    """The problems.csv export as it was: every problem, computed on request."""
    _result, _computed, problems = on_request(None)
    header = ["kind", "commune", "what", "population", "area_m2", "west", "south", "east"]
    rows = (
        [p.kind, p.commune, p.label, p.population or "", p.area_m2 or "", *p.bounds[:3]]
        for p in problems
    )
    return attachment(csv_text(header, rows), "text/csv", "baseline.csv")


# --- measuring ------------------------------------------------------------------------------


def sign_in(client, username: str, password: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302


def timed(client, urls, runs: int, headers=None) -> list[float]:
    """Milliseconds of `runs` requests, cycling over the urls (after one warm-up each)."""
    for url in urls:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.status_code)
    times = []
    for url in itertools.islice(itertools.cycle(urls), runs):
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, url
    return times


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    url = fresh_database("antt_portal_bench_coverage_pages")
    app = bench_app(url)
    app.add_url_rule("/bench/coverage/", "bench_city", baseline_page)
    app.add_url_rule("/bench/coverage/<int:commune_id>", "bench_commune", baseline_page)
    app.add_url_rule("/bench/coverage/problems.csv", "bench_csv", baseline_csv)
    lines = []
    try:
        with app.app_context():
            start = time.perf_counter()
            seed(DEMO_DATA, echo=lambda _l: None)
            print(f"seeded in {time.perf_counter() - start:.0f} s", file=sys.stderr)
            start = time.perf_counter()
            count = services.refresh()
            db.session.commit()
            refresh_s = time.perf_counter() - start
            largest = (
                db.session.execute(
                    select(CoverageCommune.commune_id)
                    .order_by(CoverageCommune.villages.desc())
                    .limit(5)
                )
                .scalars()
                .all()
            )
            communes = db.session.scalars(
                select(Area.id).where(Area.level == "commune").order_by(Area.code)
            ).all()
            villages = db.session.scalar(select(func.sum(CoverageCommune.villages)))
            db.session.remove()
        lines.append(
            f"coverage_refresh communes={count} villages={villages} seconds={refresh_s:.2f}"
        )
        client = app.test_client()
        sign_in(client, "quantri", "ha-noi-an-toan-2025")
        filters = [
            f"?kind={kind}&commune={commune}"
            for kind, commune in zip(
                itertools.cycle(services.KINDS), communes[:: max(1, len(communes) // 20)]
            )
        ] + [f"?kind={kind}" for kind in services.KINDS]
        pages = {
            "coverage_city": (["/coverage/"], None),
            "coverage_filter": ([f"/coverage/{f}" for f in filters], HX),
            "coverage_commune": ([f"/coverage/{c}" for c in largest], None),
            "coverage_csv": (["/coverage/problems.csv"], None),
        }
        for name, (urls, headers) in pages.items():
            ours = timed(client, urls, RUNS, headers)
            base_urls = [u.replace("/coverage/", "/bench/coverage/", 1) for u in urls]
            base = timed(client, base_urls, BASELINE_RUNS, headers)
            print(
                f"{name}: ours {statistics.median(ours):.1f} ms, on request "
                f"{statistics.median(base):.1f} ms",
                file=sys.stderr,
            )
            lines.append(
                f"page={name} p50_ms={p(ours, 0.5):.1f} p99_ms={p(ours, 0.99):.1f} "
                f"baseline_p50_ms={p(base, 0.5):.1f} baseline_p99_ms={p(base, 0.99):.1f} "
                f"baseline_ratio={p(base, 0.5) / p(ours, 0.5):.1f}"
            )
        with app.app_context():
            db.engine.dispose()
    finally:
        drop(url)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
