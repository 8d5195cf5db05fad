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
Then, end to end under gunicorn (2 sync workers, as `make run`) and wrk on the same cores, for
Hanoi and for the national set, the API and the card fragment (HX-Target: card), with each
worker's look-up index (issue 16: portal.lookup.index and .fast) against today's path
(PORTAL_LOOKUP_INDEX=0), the cards warm in both:
    lookup_http_{hanoi,national}_{api,card} requests_per_s=… p50_ms=… p99_ms=… errors=…
        baseline_requests_per_s=… baseline_p50_ms=… baseline_p99_ms=… baseline_ratio=…
    lookup_memory_{hanoi,national} worker_rss_mb=… baseline_worker_rss_mb=…
        index_and_answers_mb=…
Aim (issue 16): 1,000 requests/s with p99 under 50 ms. BENCH_KEEP=1 keeps the database.
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
WARM_SECONDS = 5
WARM_ROUNDS = 12
HTTP_POINTS = 300  # each worker makes an area's answer once: warm within seconds
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
%s
request = function()
  i = i %% #points + 1
  return wrk.format("GET", "%s?lat=" .. points[i][1] .. "&lon=" .. points[i][2])
end
"""
# what is asked: the API, and the card fragment a tap on the map swaps in
KINDS = {
    "api": ("/api/lookup", ""),
    "card": (
        "/tra-cuu/diem",
        'wrk.headers["HX-Request"] = "true"\nwrk.headers["HX-Target"] = "card"',
    ),
}


def serve(url: str, index: bool, log) -> tuple[subprocess.Popen, str]:
    """gunicorn as `make run` starts it (scripts/serve.sh: WORKERS sync workers), with the
    look-up's index on (ours) or off (today's path: PORTAL_LOOKUP_INDEX=0)."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench"}
    env["PORTAL_ENV"] = "demo"  # production, with the demo's accounts (portal/demo/guard.py)
    env["PORTAL_LOOKUP_INDEX"] = "1" if index else "0"
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
    for _ in range(600):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2)
            break
        except OSError:
            time.sleep(0.2)
    return server, base


def worker_rss_mb(pid: int) -> list[float]:
    """Resident memory of each of gunicorn's workers (the master's children), in MB."""
    sizes = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text_ = status.read_text()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in text_:
            sizes.append(int(re.search(r"VmRSS:\s+(\d+)", text_).group(1)) / 1024)
    return sizes


def wrk(base: str, script: Path, seconds: int) -> str:
    return subprocess.run(
        ["wrk", "-t1", "-c8", f"-d{seconds}s", "--latency", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def warm(base: str, script: Path, points: int) -> None:
    """Load until every worker has answered every point a few times (the index built, each
    area's card made and kept: a worker's first answer of an area costs what today's path
    costs), and then until the rate stops rising."""
    best, flat, asked = 0.0, 0, 0
    for _ in range(WARM_ROUNDS):
        out = wrk(base, script, WARM_SECONDS)
        asked += int(re.search(r"(\d+) requests in", out).group(1))
        rate = wrk_rps(out)
        flat = flat + 1 if rate < best * 1.05 else 0
        best = max(best, rate)
        if asked > 6 * points and flat:
            return


def http_throughput(url: str, name: str, points: list[tuple[float, float]]) -> list[str]:
    """Requests/s, p50 and p99 of the API and the card fragment under wrk (8 connections, on
    the same cores), ours against today's path, answers warm in both (a first pass over the
    points makes and keeps the cards); and each worker's memory after."""
    if shutil.which("wrk") is None:
        return [f"lookup_http_{name} skipped=wrk_not_installed (make bench installs it)"]
    work = Path(tempfile.mkdtemp(prefix="bench-lookup-"))
    log = (work / "gunicorn.log").open("w")
    coordinates = ", ".join(f"{{{lat:.6f}, {lon:.6f}}}" for lat, lon in points)
    scripts = {}
    for kind, (path, headers) in KINDS.items():
        scripts[kind] = work / f"{kind}.lua"
        scripts[kind].write_text(WRK_SCRIPT % (coordinates, headers, path))
    figures, memory = {}, {}
    for mode in ("ours", "baseline"):
        server, base = serve(url, index=mode == "ours", log=log)
        try:
            for kind, script in scripts.items():
                warm(base, script, len(points))
                out = wrk(base, script, HTTP_SECONDS)
                errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
                figures[mode, kind] = (
                    wrk_rps(out),
                    wrk_ms(out, "50%"),
                    wrk_ms(out, "99%"),
                    int(errors.group(1)) if errors else 0,
                )
            memory[mode] = worker_rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=10)
    log.close()
    lines = []
    for kind in KINDS:
        rps, p50, p99, errors = figures["ours", kind]
        base_rps, base_p50, base_p99, base_errors = figures["baseline", kind]
        lines.append(
            f"lookup_http_{name}_{kind} requests_per_s={rps:.0f} p50_ms={p50:.2f} "
            f"p99_ms={p99:.2f} errors={errors} baseline_requests_per_s={base_rps:.0f} "
            f"baseline_p50_ms={base_p50:.2f} baseline_p99_ms={base_p99:.2f} "
            f"baseline_errors={base_errors} baseline_ratio={rps / base_rps:.1f} "
            f"seconds={HTTP_SECONDS} workers={WORKERS} points={len(points)}"
        )
    ours, today = max(memory["ours"], default=0), max(memory["baseline"], default=0)
    lines.append(
        f"lookup_memory_{name} worker_rss_mb={ours:.0f} baseline_worker_rss_mb={today:.0f} "
        f"index_and_answers_mb={ours - today:.0f} workers={len(memory['ours'])}"
    )
    return lines


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
        with db.engine.begin() as connection:
            # statistics first, as autovacuum would give them: without, the generic plan of
            # the parts' query scans (5 ms instead of 0.2 ms) while the whole polygons' does not
            connection.execute(text("ANALYZE areas"))
            connection.execute(text("ANALYZE area_parts"))
        with db.engine.connect() as connection:
            lines.append(latency(connection, "hanoi", rng))
            points = [
                p for p in random_points(connection, HTTP_POINTS, rng) if found(connection, p)
            ]
        db.engine.dispose()
        lines += http_throughput(url, "hanoi", points)
        with db.engine.begin() as connection:
            start = time.perf_counter()
            copy_hanoi(connection, COPIES)
            print(f"copied Hanoi {COPIES} times in {time.perf_counter() - start:.0f} s")
        with db.engine.connect() as connection:
            lines.append(latency(connection, "national", rng))
            points = [
                p for p in random_points(connection, HTTP_POINTS, rng) if found(connection, p)
            ]
        db.engine.dispose()
        lines += http_throughput(url, "national", points)
        with db.engine.begin() as connection:
            start = time.perf_counter()
            detail(connection)
            print(f"detailed the outlines in {time.perf_counter() - start:.0f} s")
        with db.engine.connect() as connection:
            lines.append(latency(connection, "national_detailed", rng))
        db.engine.dispose()
    if os.environ.get("BENCH_KEEP") != "1":
        drop(url)
    for line in lines:
        print(line)


def found(connection, point: tuple[float, float]) -> bool:
    """A point inside some area, so that the load test reads cards, not 404s."""
    return bool(connection.execute(queries.areas_at(point[1], point[0])).first())


if __name__ == "__main__":
    main()
