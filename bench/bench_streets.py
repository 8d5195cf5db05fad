"""How fast and how heavy the street layer is: the real OpenStreetMap files imported into a
scratch database, then GET /ban-do/duong (through the app, as a browser asks it) for random
phone-to-desktop views of Hanoi's centre at zoom 14, 16 and 18, against the same requests
without the GiST index; bytes are the uncompressed GeoJSON (and gzip), against shipping both
files whole. Then the street search. Prints its figures last:
    streets z16 views=… p50_ms=… p99_ms=… bytes_p50=… gzip_p50=… lines_p50=…
        baseline_p50_ms=… baseline_ratio=… whole_file_bytes=… bytes_ratio=…
        db_p50_ms=… baseline_db_p50_ms=… db_baseline_ratio=…  (inside PostgreSQL)
    streets_search p50_ms=… p99_ms=…
"""

from __future__ import annotations

import gzip
import math
import random
import re
import statistics
import sys
import time

from common import SHARED, analyze, bench_app, drop, fresh_database, without_indexes
from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from portal.extensions import db
from portal.streets import queries, services

ZOOMS = (14, 16, 18)
VIEWS = 150  # per zoom
# the centre file's extent (SOURCES.md): where the named streets are
CENTRE = (105.8174, 21.0017, 105.8949, 21.0575)
SCREENS = ((390, 560), (1366, 700))  # a phone's map and a desktop's, in pixels
GIST = {"ix_streets_geom": "CREATE INDEX ix_streets_geom ON streets USING gist (geom)"}
SEARCHES = ("phố hàng gai", "hang bac", "Đinh Tiên Hoàng", "ngo huyen", "tran hung dao", "ba trieu")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


def views(rng: random.Random, zoom: int) -> list[str]:
    """Random views at this zoom as the layer asks them: a screen's box, snapped."""
    out = []
    for _ in range(VIEWS):
        width, height = rng.choice(SCREENS)
        lon = rng.uniform(CENTRE[0], CENTRE[2])
        lat = rng.uniform(CENTRE[1], CENTRE[3])
        degrees = 360 / (256 * 2**zoom)  # per pixel (latitude squeezed alike: near enough)
        half_w, half_h = width / 2 * degrees, height / 2 * degrees * math.cos(math.radians(lat))
        box = services.bbox_arg(
            f"{lon - half_w},{lat - half_h},{lon + half_w},{lat + half_h}", zoom
        )
        out.append(",".join(repr(v) for v in box))
    return out


def timed(
    client, boxes: list[str], zoom: int
) -> tuple[list[float], list[int], list[int], list[int]]:
    times, sizes, packed, lines = [], [], [], []
    for box in boxes:
        start = time.perf_counter()
        response = client.get("/ban-do/duong", query_string={"bbox": box, "z": zoom})
        body = response.get_data()
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.get_data(as_text=True)
        sizes.append(len(body))
        packed.append(len(gzip.compress(body, 6)))
        lines.append(body.count(b'"Feature"'))
    return times, sizes, packed, lines


def executed_ms(app, boxes: list[str], zoom: int) -> list[float]:
    """The layer's query inside PostgreSQL for each view (EXPLAIN ANALYZE's execution time):
    what the index changes, apart from the app and a busy machine."""
    out = []
    with app.app_context():
        for box in boxes:
            bbox = tuple(float(v) for v in box.split(","))
            query = queries.in_view(bbox, zoom, services.MAX_FEATURES)
            sql = str(
                query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
            )
            plan = "\n".join(
                r[0] for r in db.session.execute(text("EXPLAIN (ANALYZE, TIMING OFF) " + sql))
            )
            out.append(float(re.search(r"Execution Time: ([\d.]+) ms", plan).group(1)))
        db.session.remove()
    return out


def main() -> None:
    paths = [SHARED / name for name in services.DEFAULT_FILES]
    if not all(p.exists() for p in paths):
        print(f"streets: the OSM files are not in {SHARED}: nothing to measure")
        return
    whole = sum(p.stat().st_size for p in paths)
    url = fresh_database("antt_portal_bench_streets")
    try:
        app = bench_app(url)
        with app.app_context():
            start = time.perf_counter()
            for path in paths:
                services.import_file(path)
            db.session.commit()
            imported = services.count()
            print(
                f"imported {imported} lines in {time.perf_counter() - start:.1f} s", file=sys.stderr
            )
            db.session.remove()
        analyze(url)
        client = app.test_client()
        rng = random.Random(14)
        asked = {z: views(rng, z) for z in ZOOMS}
        for z in ZOOMS:  # warm the caches of the database and the app alike for both runs
            timed(client, asked[z][:10], z)
        ours = {z: timed(client, asked[z], z) for z in ZOOMS}
        ours_db = {z: executed_ms(app, asked[z], z) for z in ZOOMS}
        with without_indexes(url, GIST):
            baseline = {z: timed(client, asked[z], z)[0] for z in ZOOMS}
            baseline_db = {z: executed_ms(app, asked[z], z) for z in ZOOMS}
        with app.app_context():
            search_times = []
            for _ in range(10):
                for q in SEARCHES:
                    start = time.perf_counter()
                    found = services.search(q)
                    search_times.append((time.perf_counter() - start) * 1000)
                    assert found, q
            db.session.remove()
        for z in ZOOMS:
            times, sizes, packed, lines = ours[z]
            p50 = statistics.median(times)
            base_p50 = statistics.median(baseline[z])
            bytes_p50 = int(statistics.median(sizes))
            db_p50, base_db_p50 = statistics.median(ours_db[z]), statistics.median(baseline_db[z])
            print(
                f"streets z{z} views={len(times)} p50_ms={p50:.1f}"
                f" p99_ms={percentile(times, 99):.1f}"
                f" bytes_p50={bytes_p50} gzip_p50={int(statistics.median(packed))}"
                f" lines_p50={int(statistics.median(lines))} baseline_p50_ms={base_p50:.1f}"
                f" baseline_ratio={base_p50 / p50:.1f} whole_file_bytes={whole}"
                f" bytes_ratio={whole / bytes_p50:.0f}"
                f" db_p50_ms={db_p50:.1f} baseline_db_p50_ms={base_db_p50:.1f}"
                f" db_baseline_ratio={base_db_p50 / db_p50:.1f}"
            )
        print(
            f"streets_search p50_ms={statistics.median(search_times):.1f}"
            f" p99_ms={percentile(search_times, 99):.1f}"
        )
    finally:
        drop(url)


if __name__ == "__main__":
    main()
