"""Vector tiles of the villages at Hanoi scale (the whole demo: 126 communes, ≈ 5,400 villages,
their stored coverage): tiles over Hanoi at zooms 10–16 through the portal (as the admin), made
by PostGIS (cold: the worker's store emptied first) and kept (cached), their bytes; against a
simple baseline in the same process: every village as GeoJSON of its stored shape (what a page
showing every village without tiles would carry, as /coverage/<commune>/villages.json sent a
commune's), and the same for each tile's view. baseline_ratio: the whole layer's time over a
cold tile's; baseline_bytes_ratio: the whole layer (brotli) over the heaviest view's bytes.

Then the page weight a planner's browser fetches for one view of the city coverage map (a
1280×900 window, its map about 770×540): the page itself and every tile of the view, as sent
(brotli), at the city's view and zoomed to 10–16 over the centre. Each must stay under 1 MB.

    .venv/bin/python bench/bench_tiles.py
"""

from __future__ import annotations

import json
import math
import random
import statistics
import sys
import time

import brotli
from common import DEMO_DATA, analyze, bench_app, drop, fresh_database, signed_in
from sqlalchemy import func, select

from portal.coverage import services as coverage
from portal.demo.seed import seed
from portal.extensions import db
from portal.models import Area, CoverageVillage
from portal.tiles.cache import TILES, forget_tiles

ZOOMS = range(10, 17)
PER_ZOOM = 120  # tiles sampled at zooms with more tiles than this over the city
MAP_PX = (770, 540)  # the coverage map's frame in a 1280×900 window
CENTRE = (105.85, 21.03)  # Hoàn Kiếm: the densest villages
LIMIT = 1_000_000


def tile_of(lon: float, lat: float, z: int) -> tuple[float, float]:
    n = 2**z
    return (lon + 180) / 360 * n, (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n


def tile_box(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    n = 2**z

    def lat(row):
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def city_tiles(bounds, rng: random.Random) -> list[tuple[int, int, int]]:
    """Every tile over the city at each zoom, or PER_ZOOM of them drawn at random."""
    west, south, east, north = bounds
    chosen = []
    for z in ZOOMS:
        x0, y0 = (int(v) for v in tile_of(west, north, z))
        x1, y1 = (int(v) for v in tile_of(east, south, z))
        tiles = [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
        chosen += tiles if len(tiles) <= PER_ZOOM else rng.sample(tiles, PER_ZOOM)
    return chosen


def view_tiles(z: int, lon: float, lat: float) -> list[tuple[int, int, int]]:
    """The tiles Leaflet asks for to fill the map's frame centred there."""
    cx, cy = tile_of(lon, lat, z)
    half_w, half_h = MAP_PX[0] / 2 / 256, MAP_PX[1] / 2 / 256
    xs = range(int(cx - half_w), int(cx + half_w) + 1)
    ys = range(int(cy - half_h), int(cy + half_h) + 1)
    return [(z, x, y) for x in xs for y in ys]


def baseline_view(box: tuple[float, float, float, float] | None) -> bytes:
    """The stored villages meeting the view (None: the whole layer), as GeoJSON: what
    villages.json sent for a commune, and what a page showing every village without tiles
    would carry."""
    query = select(
        CoverageVillage.area_id, Area.name, CoverageVillage.status, CoverageVillage.shape
    ).join(Area, Area.id == CoverageVillage.area_id)
    if box is not None:
        query = query.where(Area.geom.op("&&")(func.ST_MakeEnvelope(*box, 4326)))
    rows = db.session.execute(query).all()
    features = [
        {
            "type": "Feature",
            "geometry": shape,
            "properties": {"id": i, "label": name, "status": status},
        }
        for i, name, status, shape in rows
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def ms(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    url = fresh_database("antt_portal_bench_tiles")
    app = bench_app(url)
    try:
        with app.app_context():
            start = time.perf_counter()
            seed(DEMO_DATA, echo=lambda _l: None)
            if not db.session.scalar(select(func.count()).select_from(CoverageVillage)):
                coverage.refresh()
            db.session.commit()
            villages = db.session.scalar(select(func.count()).select_from(CoverageVillage))
            box = db.session.execute(
                select(
                    func.ST_XMin(func.ST_Extent(Area.geom)),
                    func.ST_YMin(func.ST_Extent(Area.geom)),
                    func.ST_XMax(func.ST_Extent(Area.geom)),
                    func.ST_YMax(func.ST_Extent(Area.geom)),
                ).where(Area.level == "village", Area.valid_to.is_(None))
            ).one()
            db.session.remove()
        print(f"seeded {villages} villages in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        analyze(url)
        admin = signed_in(app, "quantri")
        tiles = city_tiles(tuple(box), random.Random(17))

        def get(z, x, y, **headers):
            started = time.perf_counter()
            response = admin.get(f"/tiles/coverage/{z}/{x}/{y}.pbf", headers=headers)
            assert response.status_code in (200, 204, 304), response.status_code
            return time.perf_counter() - started, response

        forget_tiles()
        cold, cached, sizes, sent, by_zoom = [], [], [], [], {}
        for z, x, y in tiles:
            seconds, response = get(z, x, y)
            cold.append(seconds)
            if response.data:
                sizes.append(len(response.data))
                by_zoom.setdefault(z, []).append(len(response.data))
        assert TILES.misses >= len(sizes)
        for z, x, y in tiles:
            seconds, response = get(z, x, y, **{"Accept-Encoding": "br"})
            cached.append(seconds)
            if response.data:
                sent.append(len(response.data))
        revalidated = []
        for z, x, y in tiles[:200]:
            _s, first = get(z, x, y)
            seconds, again = get(z, x, y, **{"If-None-Match": first.headers["ETag"]})
            assert again.status_code == 304
            revalidated.append(seconds)

        baseline, baseline_sizes, whole = [], [], []
        with app.app_context():
            for z, x, y in tiles:
                started = time.perf_counter()
                body = baseline_view(tile_box(z, x, y))
                baseline.append(time.perf_counter() - started)
                baseline_sizes.append(len(body))
            for _ in range(5):
                started = time.perf_counter()
                layer = baseline_view(None)
                whole.append(time.perf_counter() - started)
            db.session.remove()
        layer_sent = len(brotli.compress(layer, quality=4))
        for z, found in sorted(by_zoom.items()):
            print(
                f"zoom {z}: {len(found)} tiles with villages, bytes p50 "
                f"{int(statistics.median(found))} max {max(found)}"
            )

        # one view of the city coverage map, as a browser fetches it
        page = admin.get("/coverage/", headers={"Accept-Encoding": "br"})
        assert page.status_code == 200
        views = {"city": []}
        west, south, east, north = box
        for z in (9, 10):  # the city's view: the whole city fits at z9–10 in the frame
            views["city"] += view_tiles(z, (west + east) / 2, (south + north) / 2)
        for z in ZOOMS:
            views[f"z{z}"] = view_tiles(z, *CENTRE)
        weights = {}
        for view, wanted in views.items():
            total = len(page.data)
            for z, x, y in wanted:
                _s, response = get(z, x, y, **{"Accept-Encoding": "br"})
                total += len(response.data)
            weights[view] = total
            print(f"page {view}: {len(wanted)} tiles, {total} bytes with the page")
        heaviest = max(weights.values())
        assert heaviest < LIMIT, weights

        p50, p99 = ms(cached, 0.5), ms(cached, 0.99)
        cold_p50 = ms(cold, 0.5)
        whole_ms = ms(whole, 0.5)
        print(
            f"cold p50 {cold_p50:.1f} ms p99 {ms(cold, 0.99):.1f} ms; 304 p50 "
            f"{ms(revalidated, 0.5):.1f} ms; sent (brotli) p50 {int(statistics.median(sent))} B; "
            f"GeoJSON of a tile's view p50 {ms(baseline, 0.5):.1f} ms "
            f"{int(statistics.median(baseline_sizes))} B"
        )
        print(
            f"baseline: the whole layer as GeoJSON {whole_ms:.0f} ms, {len(layer)} B "
            f"({layer_sent} B brotli) for every view"
        )
        print(
            f"tiles p50_ms={p50:.1f} p99_ms={p99:.1f} bytes_p50={int(statistics.median(sizes))} "
            f"bytes_max={max(sizes)} cold_p50_ms={cold_p50:.1f} page_max_bytes={heaviest} "
            f"baseline_bytes_ratio={layer_sent / heaviest:.1f} "
            f"baseline_ratio={whole_ms / cold_p50:.1f}"
        )
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop(url)


if __name__ == "__main__":
    main()
