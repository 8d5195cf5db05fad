"""Soak: ten minutes of mixed traffic against the portal as `make run` serves it
(scripts/serve.sh, gunicorn with WORKERS=2 and the job worker beside it), on a loopback port,
against a bench database of its own (the Hanoi demo seeded afresh, dropped at the end: the tips
it sends pollute nothing).

The mix, all at once, each kind by its own driver:
  lookup          GET /api/lookup at random points inside Hanoi's villages      (wrk)
  lookup_outside  GET /api/lookup at points outside every area: 404 expected    (wrk)
  card            GET /tra-cuu/diem with HX-Request/HX-Target: card (the card)  (wrk)
  search          GET /tra-cuu?q=<part of a commune's or village's name>        (wrk)
  tip, tip_status POST /api/tips (JSON), then GET /api/tips/<receipt>, each from its own
                  address (X-Forwarded-For, PORTAL_PROXY_HOPS=1: the per-address limit of
                  portal/tips/limits.py counts a citizen, not the benchmark)   (a Python thread)
  officer …, admin …  staff pages, signed in through the login form with its CSRF token, as
                  canbo.xa and quantri: /areas/, /coverage/, /review/, /teams/, a team's page
                                                                        (a Python thread each)
Warm-up first (SOAK_WARMUP seconds, default 30, the same mix, not counted): the workers' RSS is
read after it, and again at the end of the measured SOAK_SECONDS (default 600).

Prints the RSS of each process at the start and at the end (and the total every minute), one
line per kind of request (count, errors, p50/p99), and last:
    soak seconds=… requests=… errors=… rss_start_mb=… rss_mid_mb=… rss_end_mb=…
         rss_growth_pct=… rss_growth_second_half_pct=…
An error is an answer other than 2xx/3xx (but the 404 of a point outside every area, and a 429
should a limit be reached), or no answer at all. Exits 1 on any error, or when the processes'
RSS grew by more than SOAK_MAX_GROWTH_PCT (default 20) over the measured time, or by more than
SOAK_MAX_LATE_GROWTH_PCT (default 3) over its second half: the per-worker caches (look-up cards
and answers, at most 2 × 48 MB; maps) fill during the first minutes as the traffic meets areas
for the first time, and must stay flat after.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from common import CSRF_META, DEMO_DATA, ROOT, analyze, bench_app, drop, fresh_database
from sqlalchemy import select, text

from portal.demo.seed import DEMO_ACCOUNTS, seed
from portal.extensions import db
from portal.lookup import queries
from portal.models import Account, Area, Team

DATABASE = "antt_portal_soak"
SECONDS = int(os.environ.get("SOAK_SECONDS", "600"))
WARMUP = int(os.environ.get("SOAK_WARMUP", "30"))
MAX_GROWTH_PCT = float(os.environ.get("SOAK_MAX_GROWTH_PCT", "20"))
# over the second half of the measured time, once the bounded caches have met the traffic
MAX_LATE_GROWTH_PCT = float(os.environ.get("SOAK_MAX_LATE_GROWTH_PCT", "3"))
SAMPLE_SECONDS = 60
WORKERS = 2  # what `make run` starts on this 2-core machine
TIPS_PER_SECOND = 2.0
# wrk's connections per kind: look-ups the most (what citizens do most)
CONNECTIONS = {"lookup": 4, "lookup_outside": 1, "card": 2, "search": 1}
TIMEOUT_S = 30  # an answer slower than this counts as an error
OFFICER, ADMIN = "canbo.xa", "quantri"
PASSWORDS = {a[0]: a[1] for a in DEMO_ACCOUNTS}

# --- the data the traffic reads -----------------------------------------------------------


@dataclass
class World:
    inside: list[tuple[float, float]]
    outside: list[tuple[float, float]]
    names: list[str]
    villages: list[int]  # for tips by village
    officer_teams: list[int]
    all_teams: list[int]
    communes: list[int]


def prepare(url: str) -> World:
    """The Hanoi demo (areas, teams, accounts, coverage computed) and what the traffic reads."""
    rng = random.Random(16)
    with bench_app(url).app_context():
        start = time.perf_counter()
        seed(DEMO_DATA, echo=lambda _line: None)
        db.session.commit()
        print(f"seeded Hanoi in {time.perf_counter() - start:.0f} s", flush=True)
        with db.engine.connect() as connection:
            boxes = connection.execute(
                text(
                    "SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM areas"
                    " WHERE level = 'village' AND valid_to IS NULL"
                )
            ).all()
            inside = []
            while len(inside) < 2000:
                x0, y0, x1, y1 = rng.choice(boxes)
                lat, lon = rng.uniform(y0, y1), rng.uniform(x0, x1)
                if connection.execute(queries.areas_at(lon, lat)).first():
                    inside.append((lat, lon))
            # the sea off Vietnam and its far south: no area of the demo there
            outside = [(rng.uniform(8.0, 10.0), rng.uniform(109.0, 110.0)) for _ in range(200)]
            for lat, lon in outside:
                assert not connection.execute(queries.areas_at(lon, lat)).first()
        names = list(db.session.scalars(select(Area.name).where(Area.valid_to.is_(None))))
        officer = db.session.scalar(select(Account).where(Account.username == OFFICER))
        world = World(
            inside=inside,
            outside=outside,
            names=[
                part for name in rng.sample(names, min(300, len(names))) for part in _parts(name)
            ],
            villages=list(
                db.session.scalars(
                    select(Area.id).where(Area.level == "village", Area.valid_to.is_(None))
                )
            ),
            officer_teams=list(
                db.session.scalars(select(Team.id).where(Team.commune_id == officer.commune_id))
            ),
            all_teams=list(db.session.scalars(select(Team.id))),
            communes=list(
                db.session.scalars(
                    select(Area.id).where(Area.level == "commune", Area.valid_to.is_(None))
                )
            ),
        )
        db.session.remove()
        db.engine.dispose()
    analyze(url)
    return world


def _parts(name: str) -> list[str]:
    """What a citizen types: the whole name, or its last word or two."""
    words = name.split()
    return [name, " ".join(words[-2:]), words[-1]] if len(words) > 1 else [name]


# --- the server, as `make run` starts it ----------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, log: Path) -> subprocess.Popen:
    """scripts/serve.sh (gunicorn and the job worker) on the bench database, in a process group
    of its own (so that it is stopped whole)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_OWNER_URL")}
    env.update(
        BIND=f"127.0.0.1:{port}",
        WORKERS=str(WORKERS),
        PORTAL_DBNAME=DATABASE,
        PORTAL_PROXY_HOPS="1",  # the tips' X-Forwarded-For is their address
        PORTAL_ENV="demo",  # production, with the demo's accounts (portal/demo/guard.py)
    )
    server = subprocess.Popen(
        ["scripts/serve.sh"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,  # the access log: a line a request
        stderr=log.open("w"),
        start_new_session=True,
    )
    for _ in range(300):
        if server.poll() is not None:
            raise SystemExit(f"scripts/serve.sh stopped ({server.returncode}): {log.read_text()}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return server
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    raise SystemExit(f"the portal did not answer on port {port}: {log.read_text()}")


def stop_server(server: subprocess.Popen) -> None:
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def processes(server: subprocess.Popen) -> dict[str, tuple[int, float]]:
    """The server's processes by role (master, worker pids, the job worker): pid and RSS in MB."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != server.pid:
                continue
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            status = (entry / "status").read_text()
        except (OSError, ProcessLookupError):
            continue
        rss = re.search(r"VmRSS:\s+(\d+) kB", status)
        ppid = int(re.search(r"PPid:\s+(\d+)", status).group(1))
        if rss is None:
            continue
        mb = int(rss.group(1)) / 1024
        pid = int(entry.name)
        if "gunicorn" in command:
            role = "gunicorn_master" if pid == server.pid else f"gunicorn_worker_{pid}"
            if pid != server.pid and ppid != server.pid:
                continue
        elif "wsgi worker" in command and "python" in command:
            role = "job_worker"
        else:
            continue
        found[role] = (pid, mb)
    return dict(sorted(found.items()))


def print_rss(label: str, procs: dict[str, tuple[int, float]]) -> float:
    """One line per process; the total of the workers and the job worker (not the master,
    which serves no request)."""
    total = 0.0
    for role, (pid, mb) in procs.items():
        print(f"rss {label} process={role} pid={pid} rss_mb={mb:.1f}")
        if role != "gunicorn_master":
            total += mb
    return total


# --- wrk: the look-ups ----------------------------------------------------------------------

WRK_SCRIPT = """
local paths = {%(paths)s}
local headers = {%(headers)s}
local i = 0
counts = {}  -- a global: done() reads each thread's with thread:get
local threads = {}
setup = function(thread) table.insert(threads, thread) end
init = function(args)
  counts = {}
  math.randomseed(os.time())
  i = math.random(#paths)
end
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i], headers)
end
response = function(status, headers, body)
  local key = tostring(status)
  counts[key] = (counts[key] or 0) + 1
end
done = function(summary, latency, requests)
  local out = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts")) do out[k] = (out[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(out) do table.insert(parts, '"' .. k .. '": ' .. v) end
  local e = summary.errors
  io.write(string.format(
    'SOAK {"statuses": {%%s}, "socket_errors": %%d, "p50_us": %%d, "p99_us": %%d}\\n',
    table.concat(parts, ", "), e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string of ASCII is a Lua string


def wrk_script(directory: Path, kind: str, paths: list[str], headers: dict[str, str]) -> Path:
    script = directory / f"{kind}.lua"
    script.write_text(
        WRK_SCRIPT
        % {
            "paths": ", ".join(_lua_string(p) for p in paths),
            "headers": ", ".join(
                f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()
            ),
        }
    )
    return script


def lookup_kinds(world: World, directory: Path) -> dict[str, Path]:
    point = "/api/lookup?lat={:.6f}&lon={:.6f}"
    card = "/tra-cuu/diem?lat={:.6f}&lon={:.6f}"
    htmx = {"HX-Request": "true", "HX-Target": "card", "HX-Current-URL": "/tra-cuu"}
    return {
        "lookup": wrk_script(directory, "lookup", [point.format(*p) for p in world.inside], {}),
        "lookup_outside": wrk_script(
            directory, "lookup_outside", [point.format(*p) for p in world.outside], {}
        ),
        "card": wrk_script(directory, "card", [card.format(*p) for p in world.inside], htmx),
        "search": wrk_script(
            directory, "search", [f"/tra-cuu?q={urllib.parse.quote(n)}" for n in world.names], {}
        ),
    }


def start_wrk(base: str, kind: str, script: Path, seconds: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            shutil.which("wrk") or "wrk",
            "-t1",
            f"-c{CONNECTIONS[kind]}",
            f"-d{seconds}s",
            f"--timeout={TIMEOUT_S}s",
            "-s",
            str(script),
            base,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wrk_result(kind: str, run: subprocess.Popen) -> Stats:
    out, _ = run.communicate()
    found = re.search(r"^SOAK (\{.*\})$", out, re.M)
    if run.returncode != 0 or found is None:
        raise SystemExit(f"wrk ({kind}) failed: {out}")
    result = json.loads(found.group(1))
    stats = Stats(kind)
    stats.statuses = {int(k): v for k, v in result["statuses"].items()}
    stats.socket_errors = result["socket_errors"]
    stats.p50_ms, stats.p99_ms = result["p50_us"] / 1000, result["p99_us"] / 1000
    return stats


# --- Python drivers: tips and staff pages ---------------------------------------------------


@dataclass
class Stats:
    kind: str
    statuses: dict[int, int] = field(default_factory=dict)
    socket_errors: int = 0
    times: list[float] = field(default_factory=list)
    p50_ms: float | None = None
    p99_ms: float | None = None

    def add(self, status: int, ms: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.times.append(ms)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values()) + self.socket_errors

    def errors(self) -> int:
        if self.kind == "lookup_outside":  # a point outside every area must not find one
            good = lambda status: status in (404, 429)  # noqa: E731
        else:
            good = lambda status: 200 <= status < 400 or status == 429  # noqa: E731
        bad = sum(n for status, n in self.statuses.items() if not good(status))
        return bad + self.socket_errors

    def line(self) -> str:
        if self.times:
            ordered = sorted(self.times)
            self.p50_ms = statistics.median(ordered)
            self.p99_ms = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        statuses = ",".join(f"{s}:{n}" for s, n in sorted(self.statuses.items()))
        p50 = f"{self.p50_ms:.1f}" if self.p50_ms is not None else "-"
        p99 = f"{self.p99_ms:.1f}" if self.p99_ms is not None else "-"
        return (
            f"kind={self.kind.replace(' ', '_')} requests={self.requests} errors={self.errors()}"
            f" p50_ms={p50} p99_ms={p99} statuses={statuses or '-'}"
            f" socket_errors={self.socket_errors}"
        )


class Browser:
    """One keep-alive connection with a cookie jar: enough for a signed-in member of staff."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)

    def request(self, method: str, path: str, body=None, headers=None) -> tuple[int, str]:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            data = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            self.connection.close()  # the next request opens a new one
            raise
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, data

    def sign_in(self, username: str) -> None:
        status, page = self.request("GET", "/login")
        token = CSRF_META.search(page).group(1)
        form = urllib.parse.urlencode(
            {"username": username, "password": PASSWORDS[username], "csrf_token": token}
        )
        status, page = self.request(
            "POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        if status != 302:
            raise SystemExit(f"{username} could not sign in: {status} {page[:300]}")


class Drivers:
    """The Python threads: each records its requests into `stats` while `counting`."""

    def __init__(self, port: int, world: World):
        self.port = port
        self.world = world
        self.stats: dict[str, Stats] = {}
        self.counting = False
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []
        self.failures: list[str] = []

    def record(self, kind: str, status: int, ms: float) -> None:
        if self.counting:
            with self.lock:
                self.stats.setdefault(kind, Stats(kind)).add(status, ms)

    def lost(self, kind: str, exc: Exception) -> None:
        if self.counting:
            with self.lock:
                self.stats.setdefault(kind, Stats(kind)).socket_errors += 1
                self.failures.append(f"{kind}: {exc!r}")

    def timed(self, browser: Browser, kind: str, method: str, path: str, body=None, headers=None):
        start = time.perf_counter()
        try:
            status, page = browser.request(method, path, body, headers)
        except (OSError, http.client.HTTPException) as exc:
            self.lost(kind, exc)
            return None, ""
        self.record(kind, status, (time.perf_counter() - start) * 1000)
        if status >= 500 and self.counting:
            with self.lock:
                self.failures.append(f"{kind} {method} {path}: {status} {page[:200]}")
        return status, page

    def start(self) -> None:
        rng = random.Random(1616)
        self.threads = [
            threading.Thread(target=self.staff, args=(OFFICER, rng.random()), daemon=True),
            threading.Thread(target=self.staff, args=(ADMIN, rng.random()), daemon=True),
            threading.Thread(target=self.tips, args=(rng.random(),), daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=TIMEOUT_S + 5)

    def staff(self, username: str, seed_: float) -> None:
        rng = random.Random(seed_)
        browser = Browser(self.port)
        try:
            browser.sign_in(username)
        except (OSError, http.client.HTTPException, SystemExit) as exc:
            with self.lock:
                self.failures.append(f"{username} sign-in: {exc}")
                self.stats.setdefault(f"{username} sign-in", Stats("sign-in")).socket_errors += 1
            return
        role = "officer" if username == OFFICER else "admin"
        teams = self.world.officer_teams if username == OFFICER else self.world.all_teams
        pages = [
            ("areas", lambda: "/areas/"),
            ("coverage", lambda: "/coverage/"),
            ("review", lambda: "/review/"),
            ("teams", lambda: "/teams/"),
            ("team", lambda: f"/teams/{rng.choice(teams)}"),
        ]
        if username == ADMIN:
            pages.append(
                ("coverage_commune", lambda: f"/coverage/{rng.choice(self.world.communes)}")
            )
        while not self.stop.is_set():
            family, path = rng.choice(pages)
            self.timed(browser, f"{role} {family}", "GET", path())

    def tips(self, seed_: float) -> None:
        rng = random.Random(seed_)
        browser = Browser(self.port)
        kinds = ("theft", "disorder", "drugs", "gambling", "traffic")
        while not self.stop.is_set():
            started = time.perf_counter()
            address = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            tip = {
                "kind": rng.choice(kinds),
                "occurred_at": (datetime.now() - timedelta(hours=rng.randrange(1, 48))).strftime(
                    "%Y-%m-%dT%H:%M:00+07:00"
                ),
                "description": "Soak: một việc được báo để đo tải, không phải tin thật.",
            }
            if rng.random() < 0.7:
                lat, lon = rng.choice(self.world.inside)
                tip |= {"lat": lat, "lon": lon, "located_by": "map"}
            else:
                tip["village_id"] = rng.choice(self.world.villages)
            headers = {"Content-Type": "application/json", "X-Forwarded-For": address}
            status, body = self.timed(
                browser, "tip", "POST", "/api/tips", json.dumps(tip).encode(), headers
            )
            if status == 201:
                receipt = json.loads(body)["receipt"]
                self.timed(browser, "tip_status", "GET", f"/api/tips/{receipt}", None, headers)
            wait = 1 / TIPS_PER_SECOND - (time.perf_counter() - started)
            self.stop.wait(max(0.0, wait))


# --- the run --------------------------------------------------------------------------------


def phase(
    base: str,
    port: int,
    scripts: dict[str, Path],
    drivers: Drivers,
    seconds: int,
    sample=None,
) -> list:
    """All the traffic at once for `seconds`: wrk's kinds' results, the drivers counting;
    sample(elapsed) called every SAMPLE_SECONDS meanwhile."""
    runs = {kind: start_wrk(base, kind, script, seconds) for kind, script in scripts.items()}
    start = time.monotonic()
    while (left := seconds - (time.monotonic() - start)) > 0:
        time.sleep(min(SAMPLE_SECONDS, left))
        if sample is not None and time.monotonic() - start < seconds - 1:
            sample(time.monotonic() - start)
    return [wrk_result(kind, run) for kind, run in runs.items()]


def total_rss(procs: dict[str, tuple[int, float]]) -> float:
    return sum(mb for role, (_pid, mb) in procs.items() if role != "gunicorn_master")


def main() -> int:
    if shutil.which("wrk") is None:
        print("soak skipped=wrk_not_installed (make soak installs it)")
        return 1
    url = fresh_database(DATABASE)
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    server = None
    try:
        world = prepare(url)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(port, work / "serve.log")
        scripts = lookup_kinds(world, work)
        drivers = Drivers(port, world)
        drivers.start()
        print(f"warm-up: {WARMUP} s of the same traffic, not counted", flush=True)
        phase(base, port, scripts, drivers, WARMUP)
        start_procs = processes(server)
        rss_start = print_rss("start", start_procs)
        print(f"measuring: {SECONDS} s", flush=True)
        drivers.counting = True
        samples = [(0.0, rss_start)]

        def sample(elapsed: float) -> None:
            samples.append((elapsed, total_rss(processes(server))))
            print(f"rss at_s={elapsed:.0f} total_mb={samples[-1][1]:.1f}", flush=True)

        results = phase(base, port, scripts, drivers, SECONDS, sample)
        drivers.counting = False
        end_procs = processes(server)
        drivers.join()
        rss_end = print_rss("end", end_procs)
    finally:
        if server is not None:
            stop_server(server)
        drop(url)
    all_stats = results + sorted(drivers.stats.values(), key=lambda s: s.kind)
    for stats in all_stats:
        print(stats.line())
    for failure in dict.fromkeys(drivers.failures[:20]):
        print(f"failure {failure}")
    restarted = sorted(set(start_procs) ^ set(end_procs))
    if restarted:
        print(f"processes not the same at the end: {restarted}")
    requests = sum(s.requests for s in all_stats)
    errors = sum(s.errors() for s in all_stats)
    growth = (rss_end - rss_start) / rss_start * 100
    # the second half: the kept cards, answers and maps (bounded, portal/lookup/index.py) fill
    # while the traffic meets areas for the first time; memory that still grows after is a leak
    rss_mid = next(mb for at, mb in samples if at >= SECONDS / 2) if len(samples) > 2 else rss_start
    late_growth = (rss_end - rss_mid) / rss_mid * 100
    print(
        f"soak seconds={SECONDS} requests={requests} errors={errors}"
        f" rss_start_mb={rss_start:.1f} rss_mid_mb={rss_mid:.1f} rss_end_mb={rss_end:.1f}"
        f" rss_growth_pct={growth:.1f} rss_growth_second_half_pct={late_growth:.1f}"
    )
    return 1 if errors or growth > MAX_GROWTH_PCT or late_growth > MAX_LATE_GROWTH_PCT else 0


if __name__ == "__main__":
    sys.exit(main())
