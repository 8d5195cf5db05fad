"""How fast a point finds its area: at Hanoi scale and at a synthetic national scale
(≥ 100,000 areas), on the subdivided parts (area_parts) against the same query on the whole
polygons; then requests per second of /api/lookup under gunicorn, driven by wrk over loopback.

The national set is Hanoi's real outline, communes and demo villages copied 19 times across
Vietnam's extent, so that every copy keeps real boundaries (a province outline of thousands
of vertices, communes of hundreds). Aims (issue 6): p50 under 1 ms in the database at national
scale, over 1,000 requests/s end to end at Hanoi scale. Prints its figures last:
    lookup_hanoi areas=… db_p50_ms=… db_p99_ms=… baseline_db_p50_ms=… db_baseline_ratio=…
        roundtrip_p50_ms=… roundtrip_p99_ms=… baseline_roundtrip_p50_ms=… baseline_ratio=…
    lookup_national, lookup_national_detailed (the same)
"db" is the execution inside PostgreSQL; "roundtrip" adds the driver and the loopback.
    lookup_http_hanoi requests_per_s=… p50_ms=… p99_ms=… errors=… seconds=… workers=…
"""

from __future__ import annotations

import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from common import DEMO_DATA, ROOT, bench_app, drop, fresh_database
from sqlalchemy import Float, bindparam, text
from sqlalchemy.dialects import postgresql

from portal.demo.seed import seed
from portal.extensions import db
from portal.lookup import queries

COPIES = 19  # Hanoi plus 19 copies: about 110,000 areas
SAMPLES = 3000
HTTP_SECONDS = 15
WORKERS = 2  # what `make run` starts on this 2-core machine


def sql_of(query) -> tuple[str, dict]:
    """The SELECT as PostgreSQL receives it, and its parameters but the point's."""
    compiled = query.compile(dialect=postgresql.psycopg.dialect())
    return str(compiled), dict(compiled.params)


def timed_lookups(connection, points, ours, baseline) -> dict[str, list[float]]:
    """Each point through both queries in turn (a noisy machine hurts both alike), in ms:
    the round trip from here, and the execution inside the database (EXPLAIN ANALYZE)."""
    raw = connection.connection.dbapi_connection
    times: dict[str, list[float]] = {k: [] for k in ("ours", "baseline", "ours_db", "baseline_db")}
    with raw.cursor() as cursor:
        # as the portal runs them (portal.lookup.services._plan_once), both queries alike
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        for lat, lon in points:
            for name, (sql, fixed) in (("ours", ours), ("baseline", baseline)):
                params = {**fixed, "lon": lon, "lat": lat}
                start = time.perf_counter()
                cursor.execute(sql, params, prepare=True)
                found = cursor.fetchall()
                times[name].append((time.perf_counter() - start) * 1000)
                if name == "ours":
                    expected = found
                elif found != expected:
                    raise AssertionError(f"answers differ at {lat},{lon}: {expected} {found}")
                cursor.execute("EXPLAIN (ANALYZE, TIMING OFF) " + sql, params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                executed = re.search(r"Execution Time: ([\d.]+) ms", plan).group(1)
                times[f"{name}_db"].append(float(executed))
    return times


def random_points(connection, n: int, rng: random.Random) -> list[tuple[float, float]]:
    """Points spread over the villages (inside one, mostly), as citizens would tap."""
    boxes = connection.execute(
        text(
            "SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM areas"
            " WHERE level = 'village' AND valid_to IS NULL"
        )
    ).all()
    points = []
    for _ in range(n):
        x0, y0, x1, y1 = rng.choice(boxes)
        points.append((rng.uniform(y0, y1), rng.uniform(x0, x1)))
    return points


def copy_hanoi(connection, copies: int) -> None:
    """Hanoi's province, communes and villages, translated to a grid across Vietnam."""
    province = connection.execute(
        text(
            "SELECT id, ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM areas"
            " WHERE level = 'province'"
        )
    ).one()
    cells = [(102.8 + 1.6 * i, 9.0 + 1.5 * j) for j in range(10) for i in range(5)]
    cells = [c for c in cells if abs(c[0] - province[1]) > 1.2 or abs(c[1] - province[2]) > 1.2]
    columns = "level, kind, population, households, valid_from, decision_number, decision_date"
    for k, (x, y) in enumerate(cells[:copies], start=1):
        move = {"dx": x - province[1], "dy": y - province[2], "k": f"-{k}", "p": province[0]}
        new_province = connection.execute(
            text(
                f"INSERT INTO areas ({columns}, code, name, name_search, geom)"
                f" SELECT {columns}, code || :k, name || :k, name_search || :k,"
                " ST_Translate(geom, :dx, :dy) FROM areas WHERE id = :p RETURNING id"
            ),
            move,
        ).scalar_one()
        connection.execute(
            text(
                f"INSERT INTO areas ({columns}, parent_id, code, name, name_search, geom)"
                f" SELECT {columns}, :new, code || :k, name, name_search,"
                " ST_Translate(geom, :dx, :dy) FROM areas WHERE parent_id = :p"
            ),
            {**move, "new": new_province},
        )
        connection.execute(
            text(
                f"INSERT INTO areas ({columns}, parent_id, code, name, name_search, geom)"
                f" SELECT v.level, v.kind, v.population, v.households, v.valid_from,"
                " v.decision_number, v.decision_date, n.id, v.code || :k, v.name,"
                " v.name_search, ST_Translate(v.geom, :dx, :dy)"
                " FROM areas v JOIN areas c ON c.id = v.parent_id"
                " JOIN areas n ON n.code = c.code || :k AND n.level = 'commune'"
                " WHERE c.parent_id = :p AND v.level = 'village'"
            ),
            move,
        )
    connection.execute(text("ANALYZE areas"))
    connection.execute(text("ANALYZE area_parts"))


def detail(connection) -> None:
    """Province and commune outlines at survey detail (a vertex every ~10 m), as official
    cadastral boundaries are; the area_parts trigger subdivides them again."""
    connection.execute(
        text(
            "UPDATE areas SET geom = ST_Multi(ST_Segmentize(geom, 0.0001))"
            " WHERE level IN ('province', 'commune') AND valid_to IS NULL"
        )
    )
    connection.execute(text("ANALYZE areas"))
    connection.execute(text("ANALYZE area_parts"))


def latency(connection, name: str, rng: random.Random) -> str:
    point = bindparam("lon", type_=Float), bindparam("lat", type_=Float)
    ours = sql_of(queries.areas_at(*point))
    baseline = sql_of(queries.areas_at_whole_polygons(*point))
    points = random_points(connection, SAMPLES, rng)
    timed_lookups(connection, points[:200], ours, baseline)  # warm the caches and plans
    times = timed_lookups(connection, points, ours, baseline)
    areas = connection.execute(text("SELECT count(*) FROM areas")).scalar_one()
    parts = connection.execute(text("SELECT count(*) FROM area_parts")).scalar_one()
    vertices = connection.execute(
        text("SELECT max(ST_NPoints(geom)) FROM areas WHERE valid_to IS NULL")
    ).scalar_one()
    print(f"{name}: {areas} areas in {parts} parts, largest {vertices} vertices")
    p = {k: (percentile(v, 50), percentile(v, 99)) for k, v in times.items()}
    return (
        f"lookup_{name} areas={areas} db_p50_ms={p['ours_db'][0]:.3f} "
        f"db_p99_ms={p['ours_db'][1]:.3f} baseline_db_p50_ms={p['baseline_db'][0]:.3f} "
        f"db_baseline_ratio={p['baseline_db'][0] / p['ours_db'][0]:.1f} "
        f"roundtrip_p50_ms={p['ours'][0]:.3f} roundtrip_p99_ms={p['ours'][1]:.3f} "
        f"baseline_roundtrip_p50_ms={p['baseline'][0]:.3f} "
        f"baseline_ratio={p['baseline'][0] / p['ours'][0]:.1f}"
    )


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


WRK_SCRIPT = """
local points = {%s}
local i = 0
request = function()
  i = i %% #points + 1
  return wrk.format("GET", "/api/lookup?lat=" .. points[i][1] .. "&lon=" .. points[i][2])
end
"""


def http_throughput(url: str, points: list[tuple[float, float]]) -> str:
    """/api/lookup under gunicorn (as `make run` starts it), loaded by wrk for a fixed time."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return "lookup_http_hanoi skipped=wrk_not_installed (make bench installs it)"
    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="bench-lookup-"))
    log = (work / "gunicorn.log").open("w")
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench"}
    env["PORTAL_ENV"] = "production"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(WORKERS),
            "--bind",
            f"127.0.0.1:{port}",
            "--no-control-socket",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        script = work / "points.lua"
        script.write_text(
            WRK_SCRIPT % ", ".join(f"{{{lat:.6f}, {lon:.6f}}}" for lat, lon in points)
        )
        run = subprocess.run(
            [wrk, "-t1", "-c8", f"-d{HTTP_SECONDS}s", "--latency", "-s", str(script), base],
            capture_output=True,
            text=True,
            check=True,
        )
        # the same server and app answering without the database: where the ceiling is
        static = subprocess.run(
            [wrk, "-t1", "-c8", f"-d{HTTP_SECONDS}s", base + "/static/favicon.svg"],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
    out = run.stdout
    rps = wrk_rps(out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return (
        f"lookup_http_hanoi requests_per_s={rps:.0f} p50_ms={wrk_ms(out, '50%'):.2f} "
        f"p99_ms={wrk_ms(out, '99%'):.2f} errors={errors.group(1) if errors else 0} "
        f"seconds={HTTP_SECONDS} workers={WORKERS} "
        f"static_file_requests_per_s={wrk_rps(static.stdout):.0f}"
    )


def wrk_rps(out: str) -> float:
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def wrk_ms(out: str, label: str) -> float:
    value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> None:
    url = fresh_database()
    lines = []
    rng = random.Random(6)
    with bench_app(url).app_context():
        start = time.perf_counter()
        seed(DEMO_DATA, echo=lambda _l: None)
        print(f"seeded Hanoi in {time.perf_counter() - start:.0f} s")
        with db.engine.connect() as connection:
            lines.append(latency(connection, "hanoi", rng))
            http_points = [p for p in random_points(connection, 2000, rng) if found(connection, p)]
        db.engine.dispose()
        lines.append(http_throughput(url, http_points))
        with db.engine.begin() as connection:
            start = time.perf_counter()
            copy_hanoi(connection, COPIES)
            print(f"copied Hanoi {COPIES} times in {time.perf_counter() - start:.0f} s")
        with db.engine.connect() as connection:
            lines.append(latency(connection, "national", rng))
        with db.engine.begin() as connection:
            start = time.perf_counter()
            detail(connection)
            print(f"detailed the outlines in {time.perf_counter() - start:.0f} s")
        with db.engine.connect() as connection:
            lines.append(latency(connection, "national_detailed", rng))
        db.engine.dispose()
    drop(url)
    for line in lines:
        print(line)


def found(connection, point: tuple[float, float]) -> bool:
    """A point inside some area, so that the load test reads cards, not 404s."""
    return bool(connection.execute(queries.areas_at(point[1], point[0])).first())


if __name__ == "__main__":
    main()
