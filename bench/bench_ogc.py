"""How fast the OGC API answers at Hanoi's scale: the demo (≈ 5,400 villages with their real
outlines, not simplified) seeded into a scratch database, then GET /ogc/collections/villages/
items through the app as a GIS client asks it: pages of 10 at random offsets, a page of 1,000,
and random small boxes (bbox, a planner's view of a few streets); the boxes again without the
areas' GiST index, as the baseline. Prints its figures last:
    ogc page10 p50_ms=… p99_ms=… | page1000 p50_ms=… bytes=… gzip=…
    ogc bbox p50_ms=… p99_ms=… matched_p50=… baseline_p50_ms=… baseline_ratio=…
"""

from __future__ import annotations

import gzip
import random
import statistics
import sys

from common import DEMO_DATA, analyze, bench_app, drop, fresh_database, timed, without_indexes
from sqlalchemy import text

from portal.demo.seed import seed
from portal.extensions import db

RUNS = 60
GIST = {"ix_areas_geom": "CREATE INDEX ix_areas_geom ON areas USING gist (geom)"}


def boxes(rng: random.Random, n: int) -> list[str]:
    """Views about 2 km across around random villages (Hanoi's outline is far from its box)."""
    centres = db.session.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM areas"
            " WHERE level = 'village' AND valid_to IS NULL) c"
        )
    ).all()
    out = []
    for lon, lat in rng.sample(centres, n):
        out.append(f"{lon - 0.01:.5f},{lat - 0.01:.5f},{lon + 0.01:.5f},{lat + 0.01:.5f}")
    return out


def main() -> None:
    url = fresh_database("antt_portal_bench_ogc")
    app = bench_app(url)
    try:
        with app.app_context():
            seed(DEMO_DATA, reset=True, echo=lambda _l: None)
            db.session.remove()
        analyze(url)
        client = app.test_client()
        rng = random.Random(17)
        matched = client.get("/ogc/collections/villages/items?limit=1").get_json()["numberMatched"]
        offsets = iter([rng.randrange(0, matched - 10) for _ in range(RUNS + 2)])

        def page10():
            return client.get(f"/ogc/collections/villages/items?offset={next(offsets)}").data

        p50, p99, _ = timed(page10, RUNS)
        big_p50, _b, body = timed(
            lambda: client.get("/ogc/collections/villages/items?limit=1000").data, 10
        )
        with app.app_context():
            views = boxes(rng, RUNS + 2)

        def by_box(views=views):
            found = []
            iterator = iter(views)

            def one():
                answer = client.get(f"/ogc/collections/villages/items?bbox={next(iterator)}")
                found.append(answer.get_json()["numberMatched"])

            return one, found

        one, found = by_box()
        box_p50, box_p99, _ = timed(one, RUNS)
        with without_indexes(url, GIST):
            plain, _f = by_box()
            base_p50, _p99, _ = timed(plain, RUNS)
        print(
            f"villages={matched} page10 p50_ms={p50:.1f} p99_ms={p99:.1f} | "
            f"page1000 p50_ms={big_p50:.1f} bytes={len(body)} gzip={len(gzip.compress(body))}",
            file=sys.stderr,
        )
        print(
            f"ogc page10 p50_ms={p50:.1f} p99_ms={p99:.1f} page1000_p50_ms={big_p50:.1f}"
            f" page1000_bytes={len(body)} | bbox p50_ms={box_p50:.1f} p99_ms={box_p99:.1f}"
            f" matched_p50={statistics.median(found):.0f} baseline_p50_ms={base_p50:.1f}"
            f" baseline_ratio={base_p50 / box_p50:.1f}"
        )
    finally:
        drop(url)


if __name__ == "__main__":
    main()
