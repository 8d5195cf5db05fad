"""Faults: PostgreSQL killed or restarted under the portal, a web worker killed mid-request.

One throwaway installation (tests/clusters.py: its own cluster with production durability,
fsync and synchronous_commit on) with one commune of the demo, served by gunicorn as `make run`
serves it. The writes are citizens' tips through the JSON API (each with a marker of its own in
its text, sent from an address of its own through X-Forwarded-For so that the per-address limit
counts each on its own) and member edits by a commune officer (each setting a phone number of
its own). After each fault the database is read as the bootstrap superuser and held against what
the portal answered: every write acknowledged (201, or 204 for an HTMX form) is there with all
its parts, and every write refused is there whole or not at all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import io
import json
import os
import re
import signal
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.clusters import Installation

pytestmark = pytest.mark.long

SECRET_KEY = "fault-test-key"  # what Installation.env gives the portal
OFFICER = ("canbo.xa", "ba-dinh-binh-yen-2025")
TIMEOUT = 15  # seconds a request may take before it counts as refused
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


# --- the installation -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def installation(tmp_path_factory):
    """The installation, with one commune of the demo, and gunicorn serving it (booted while
    the demo is seeded; its log kept where pytest keeps a test's files)."""
    started = time.monotonic()
    made = Installation.create()
    try:
        log = tmp_path_factory.mktemp("faults") / "gunicorn.log"
        # two workers, as `make run`; one proxy trusted for X-Forwarded-For (tips come from
        # addresses of their own); jobs to the queue, as in production
        made.served = made.serve(
            workers=2,
            extra_env={"PORTAL_PROXY_HOPS": "1", "PORTAL_JOBS_INLINE": "0"},
            log=log,
            wait=False,
        )
        made.flask("seed-demo", "--communes", "1")
        Installation.wait_until_up(*made.served)
        print(f"installation made, seeded and served in {time.monotonic() - started:.1f} s")
        print(f"gunicorn log: {log}")
        yield made
    finally:
        made.destroy()


@pytest.fixture(scope="module")
def admin_db(installation):
    engine = create_engine(installation.url("admin"), pool_pre_ping=True)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def served(installation):
    """(base URL, gunicorn's master process)."""
    return installation.served


@dataclass
class Places:
    villages: list[int]
    members: list[dict]  # each with team_id and the member form's fields
    point: tuple[float, float]  # (lat, lon) inside the first village


@pytest.fixture(scope="module")
def places(admin_db) -> Places:
    with admin_db.connect() as db:
        villages = list(
            db.execute(
                text(
                    "SELECT a.id FROM areas a JOIN team_areas ta ON ta.area_id = a.id"
                    " WHERE a.level = 'village' AND a.valid_to IS NULL ORDER BY a.id LIMIT 10"
                )
            ).scalars()
        )
        rows = db.execute(
            text(
                "SELECT id, team_id, full_name, role, birth_date, residence_area_id,"
                " resident_since, education, age_approval, appointment_number,"
                " appointment_date, appointment_signer FROM members"
                " WHERE left_on IS NULL ORDER BY id LIMIT 24"
            )
        ).mappings()
        members = [dict(r) for r in rows]
        point = db.execute(
            text(
                "SELECT ST_Y(p), ST_X(p) FROM"
                " (SELECT ST_PointOnSurface(geom) AS p FROM areas WHERE id = :id) s"
            ),
            {"id": villages[0]},
        ).one()
    assert len(villages) >= 5 and len(members) >= 12, (villages, members)
    return Places(villages, members, tuple(point))


# --- writes over HTTP -------------------------------------------------------------------------


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Write:
    """One write sent, and what the portal answered (status None: no answer at all)."""

    kind: str  # "tip" or "member"
    seq: int
    status: int | None = None
    error: str = ""
    receipt: str | None = None
    member_id: int | None = None
    phone: str | None = None
    photo: bool = False
    sent_at: float = 0.0

    @property
    def marker(self) -> str:
        return f"loi-{self.seq:05d}"

    @property
    def address(self) -> str:
        return f"10.{self.seq >> 16 & 255}.{self.seq >> 8 & 255}.{self.seq & 255}"

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def tiny_jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 40, 40)).save(out, "JPEG")
    return out.getvalue()


class Portal:
    """A client of the served portal: tips as anyone, member edits as a signed-in officer."""

    def __init__(self, base: str, places: Places):
        self.base = base
        self.places = places
        self.jar = CookieJar()
        self.staff = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect
        )
        self.csrf = ""
        self.photo_b64 = base64.b64encode(tiny_jpeg()).decode()

    def sign_in(self) -> None:
        page = self.staff.open(self.base + "/login", timeout=TIMEOUT).read().decode()
        token = CSRF_META.search(page).group(1)
        body = urllib.parse.urlencode(
            {"username": OFFICER[0], "password": OFFICER[1], "csrf_token": token}
        ).encode()
        try:
            self.staff.open(self.base + "/login", body, timeout=30)
        except urllib.error.HTTPError as exc:
            assert exc.code in (302, 303), exc.code
        page = self.staff.open(self.base + "/teams/", timeout=TIMEOUT).read().decode()
        self.csrf = CSRF_META.search(page).group(1)

    def _send(self, write: Write, opener, request) -> Write:
        write.sent_at = time.monotonic()
        try:
            with opener.open(request, timeout=TIMEOUT) as response:
                write.status = response.status
                body = response.read()
        except urllib.error.HTTPError as exc:
            write.status = exc.code
            body = exc.read()
            if exc.code == 503:
                write.error = exc.headers.get("Retry-After", "no Retry-After")
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out
            write.error = type(exc).__name__
            return write
        if write.kind == "tip" and write.status == 201:
            write.receipt = json.loads(body)["receipt"]
        return write

    def tip(self, write: Write) -> Write:
        villages = self.places.villages
        tip = {
            "kind": "theft",
            "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
            "description": f"Tin thử sự cố {write.marker}: mất xe đạp trước cổng.",
            "village_id": villages[write.seq % len(villages)],
            "contact": f"09{write.seq:08d}",
        }
        if write.photo:
            tip["photo_base64"] = self.photo_b64
        request = urllib.request.Request(
            self.base + "/api/tips",
            json.dumps(tip).encode(),
            {"Content-Type": "application/json", "X-Forwarded-For": write.address},
        )
        return self._send(write, urllib.request.build_opener(NoRedirect), request)

    def member_edit(self, write: Write) -> Write:
        member = self.places.members[write.seq % len(self.places.members)]
        write.member_id = member["id"]
        write.phone = f"08{write.seq:08d}"
        form = {
            k: ("" if v is None else v.isoformat() if hasattr(v, "isoformat") else v)
            for k, v in member.items()
            if k not in ("id", "team_id")
        }
        form |= {"phone": write.phone, "csrf_token": self.csrf}
        if member["education"] == "primary":
            form["remote_area"] = "1"
        request = urllib.request.Request(
            f"{self.base}/teams/{member['team_id']}/members/{member['id']}/edit",
            urllib.parse.urlencode(form).encode(),
            {"HX-Request": "true", "X-CSRFToken": self.csrf, "X-Forwarded-For": "10.200.0.1"},
        )
        return self._send(write, self.staff, request)

    def send(self, write: Write) -> Write:
        return self.tip(write) if write.kind == "tip" else self.member_edit(write)

    def get(self, path: str, *, staff: bool = False, timeout: float = TIMEOUT):
        """(status or None, headers) of a GET."""
        opener = self.staff if staff else urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(self.base + path, timeout=timeout) as response:
                response.read()
                return response.status, response.headers
        except urllib.error.HTTPError as exc:
            exc.read()
            return exc.code, exc.headers
        except (OSError, http.client.HTTPException):
            return None, {}


def plan(count: int, first: int = 0, *, member_share: int = 4) -> list[Write]:
    """`count` writes: one in member_share a member edit, one in fifty a tip with a photo."""
    writes = []
    for seq in range(first, first + count):
        if seq % member_share == 0:
            writes.append(Write("member", seq))
        else:
            writes.append(Write("tip", seq, photo=seq % 50 == 1))
    return writes


def run_writes(
    portal: Portal, writes: list[Write], *, threads: int = 32, during=None, hold=None
) -> None:
    """Send the writes from a pool of threads; `during(sent)` runs beside them in a thread of
    its own, with a callable giving how many have been sent so far; hold=(n, event): the n-th
    write and those after it wait for the event."""
    sent = Counter()
    lock = threading.Lock()

    def one(index_write) -> Write:
        index, write = index_write
        if hold and index >= hold[0]:
            assert hold[1].wait(120), "the fault never finished"
        with lock:
            sent["n"] += 1
        return portal.send(write)

    with ThreadPoolExecutor(threads + 1) as pool:
        fault = pool.submit(during, lambda: sent["n"]) if during else None
        list(pool.map(one, enumerate(writes)))
        if fault is not None:
            fault.result()


def wait_for(sent, count: int, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while sent() < count:
        assert time.monotonic() < deadline, f"only {sent()} writes sent"
        time.sleep(0.01)


# --- what the database holds ------------------------------------------------------------------


def limit_key(address: str) -> bytes:
    """The keyed hash a tip from this address is counted under (portal.tips.limits)."""
    return hmac.new(SECRET_KEY.encode(), f"tip-ip:{address}".encode(), hashlib.sha256).digest()


@dataclass
class Held:
    """What the database holds of the writes, and every way it disagrees with the answers."""

    problems: list[str] = field(default_factory=list)
    tips_found: int = 0
    edits_found: int = 0
    refused_but_there: int = 0  # committed before the fault cut the answer: whole, then

    def problem(self, text_: str) -> None:
        if len(self.problems) < 40:
            self.problems.append(text_)


def check_writes(engine, writes: list[Write]) -> Held:
    held = Held()
    with engine.connect() as db:
        tips = {
            m: rows
            for m, rows in _group(
                db.execute(
                    text(
                        "SELECT substring(i.description from 'loi-[0-9]{5}') AS marker, i.id,"
                        " i.receipt, i.has_photo, i.has_contact,"
                        " (SELECT count(*) FROM audit_log a WHERE a.entity_type = 'incident'"
                        "   AND a.entity_id = i.id AND a.action = 'create') AS audited,"
                        " (SELECT count(*) FROM tip_contacts c WHERE c.incident_id = i.id)"
                        "   AS contacts,"
                        " (SELECT count(*) FROM incident_photos p WHERE p.incident_id = i.id)"
                        "   AS photos"
                        " FROM incidents i WHERE i.source = 'tip'"
                        " AND i.description LIKE 'Tin thử sự cố loi-%'"
                    )
                ).mappings()
            ).items()
        }
        counted = Counter(
            bytes(k) for k in db.execute(text("SELECT key FROM tip_limits")).scalars()
        )
        phones = {}  # phone → (member id, audit id)
        for member_id, phone, audit_id in db.execute(
            text(
                "SELECT entity_id, changes->'phone'->>1, id FROM audit_log"
                " WHERE entity_type = 'member' AND action = 'update' AND changes ? 'phone'"
            )
        ):
            if phone in phones:
                held.problem(f"phone {phone} logged twice")
            phones[phone] = (member_id, audit_id)
        now_phone = dict(db.execute(text("SELECT id, phone FROM members")).all())
    sent_phones = {}
    for write in writes:
        if write.kind == "tip":
            rows = tips.pop(write.marker, [])
            key_count = counted.get(limit_key(write.address), 0)
            if len(rows) > 1:
                held.problem(f"tip {write.marker} stored {len(rows)} times")
            if not rows:
                if write.acknowledged:
                    held.problem(f"tip {write.marker} acknowledged ({write.status}) but lost")
                if key_count:
                    held.problem(f"tip {write.marker} absent but counted in tip_limits")
                continue
            held.tips_found += 1
            held.refused_but_there += not write.acknowledged
            row = rows[0]
            if write.receipt and row["receipt"] != write.receipt:
                held.problem(f"tip {write.marker}: receipt {row['receipt']} != {write.receipt}")
            parts = (row["audited"], row["contacts"], row["photos"], key_count)
            if parts != (1, 1, int(write.photo), 1) or row["has_photo"] != write.photo:
                held.problem(
                    f"tip {write.marker} ({write.status}) half there: audit, contact, photo,"
                    f" limit = {parts}, photo sent {write.photo}"
                )
        else:
            sent_phones[write.phone] = write
            logged = phones.get(write.phone)
            if logged is None:
                if write.acknowledged:
                    held.problem(f"edit {write.seq} acknowledged ({write.status}) but lost")
                continue
            held.edits_found += 1
            held.refused_but_there += not write.acknowledged
            if logged[0] != write.member_id:
                held.problem(f"edit {write.seq} logged on member {logged[0]}")
    for marker in tips:
        held.problem(f"tip {marker} stored but never sent")
    # each member's phone is what its newest logged edit set
    newest: dict[int, tuple[int, str]] = {}
    for phone, (member_id, audit_id) in phones.items():
        if phone not in sent_phones:
            held.problem(f"phone {phone} logged but never sent")
        if audit_id > newest.get(member_id, (0, ""))[0]:
            newest[member_id] = (audit_id, phone)
    for member_id, (_audit_id, phone) in newest.items():
        if now_phone.get(member_id) != phone:
            held.problem(f"member {member_id} has {now_phone.get(member_id)}, last logged {phone}")
    return held


def _group(rows) -> dict:
    grouped: dict[str, list] = {}
    for row in rows:
        grouped.setdefault(row["marker"], []).append(row)
    return grouped


REVIEW_COLUMNS = (
    "month, commune_id, team_id, source, kind, items, valuable, passed, pass_seconds, handed"
)


def check_review(engine) -> None:
    """The review's stored figures (kept by triggers) are what the incidents say, row for row."""
    with engine.connect() as db:
        kept = db.execute(text(f"SELECT {REVIEW_COLUMNS} FROM review_incidents")).all()
        kept = {tuple(r) for r in kept if any(r[-5:])}
        fresh = {
            tuple(r)
            for r in db.execute(
                text("SELECT * FROM review_incidents_raw('-infinity', 'infinity', NULL, NULL)")
            )
        }
    assert kept == fresh, (kept - fresh, fresh - kept)


def errors_logged(installation) -> str:
    """The tracebacks gunicorn's log holds, for an assertion's message."""
    found = []
    for server in installation.servers:
        # gunicorn's own lines, and the portal's JSON ones (portal/logs.py)
        found += re.split(r'\[ERROR\]|"level": "ERROR"', server.log.read_text())[1:]
    return "\n".join(found)[-6000:]


def summary(writes: list[Write]) -> str:
    statuses = Counter(w.status if w.status else w.error for w in writes)
    return ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items(), key=str))


# --- the tests --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ledger() -> list[Write]:
    """Every write of the module: each test checks them all again (nothing committed earlier
    may go missing under a later fault)."""
    return []


@pytest.fixture(scope="module")
def portal(served, places) -> Portal:
    client = Portal(served[0], places)
    client.sign_in()
    return client


def test_kill_9_during_a_thousand_writes_loses_no_acknowledged_write(
    installation, portal, admin_db, ledger
):
    writes = plan(1000, first=0)
    ledger.extend(writes)
    restarted = threading.Event()
    times = {}

    def crash(sent):
        wait_for(sent, 400)
        installation.kill9()  # SIGKILL to the postmaster and every backend, mid-write
        times["killed"] = time.monotonic()
        wait_for(sent, 850)  # these meet no database, or one in crash recovery
        times["down"] = time.monotonic()
        installation.start()
        times["started"] = time.monotonic()
        restarted.set()

    started = time.monotonic()
    run_writes(portal, writes, during=crash, hold=(850, restarted))
    print(f"writes done in {time.monotonic() - started:.1f} s")
    refused = [w for w in writes if not w.acknowledged]
    after = [w for w in writes if w.sent_at > times["started"]]
    first_ok = min((w.sent_at for w in after if w.acknowledged), default=None)
    report = (
        f"sent {len(writes)}, acknowledged {len(writes) - len(refused)}, refused {len(refused)}"
        f" ({summary(writes)}); database down {times['started'] - times['killed']:.1f} s"
        f" (start took {times['started'] - times['down']:.1f} s);"
        f" first write acknowledged {first_ok - times['started'] if first_ok else -1:.2f} s"
        " after the restart"
    )
    print(report)
    # a refusal is a 503 saying when to come back, or no answer from a connection cut short;
    # never a 500
    odd = [(w.seq, w.status, w.error) for w in writes if w.status not in (201, 204, 503, None)]
    assert not odd, (odd[:10], report, errors_logged(installation))
    assert all(w.error == "5" for w in writes if w.status == 503), report
    # the crash was felt, and the portal came back by itself
    assert len(refused) >= 150, report
    assert first_ok is not None and first_ok - times["started"] < 10, report
    # and stays back: every write sent 2 s after the first success is taken. The thousand may
    # all be sent within those 2 s on a fast machine, so fifty more follow, sent after them.
    late = [w for w in after if w.sent_at > first_ok + 2]
    time.sleep(max(0.0, first_ok + 2 - time.monotonic()))
    more = plan(50, first=1000)
    ledger.extend(more)
    run_writes(portal, more, threads=8)
    late += more
    assert all(w.acknowledged for w in late), (summary(late), report)
    held = check_writes(admin_db, ledger)
    assert not held.problems, (held.problems, report)
    print(
        f"in the database: {held.tips_found} tips, {held.edits_found} member edits"
        f" ({held.refused_but_there} of them refused, yet committed whole)"
    )
    check_review(admin_db)
    # the check itself sees a write lost: one acknowledged that was never made
    phantom = Write("tip", 99_999, status=201, receipt="XXXX-XXXX")
    assert "tip loi-99999 acknowledged (201) but lost" in check_writes(admin_db, [phantom]).problems


# --- processes --------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text_ = status.read_text()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in text_:
            found.append(int(status.parent.name))
    return sorted(found)


def connected_to(pids: list[int], port: int, *, local: bool = False) -> set[int]:
    """Those of the processes holding an established TCP connection to 127.0.0.1:port (with
    local, one accepted on that port: a request being served)."""
    sockets = {}  # inode → remote (or local) port, of established connections
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "01":  # ESTABLISHED
            sockets[fields[9]] = int(fields[1 if local else 2].split(":")[1], 16)
    found = set()
    for pid in pids:
        try:
            links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
        for link in links:
            if link.startswith("socket:[") and sockets.get(link[8:-1]) == port:
                found.add(pid)
    return found


def together(calls, threads: int = 8) -> list:
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_restart_while_serving_answers_503_then_recovers_without_restarting_gunicorn(
    installation, served, portal, places, admin_db, ledger, tmp_path
):
    from tests.conftest import start_worker, stop

    _base, server = served
    lat, lon = places.point
    lookup = f"/api/lookup?lat={lat}&lon={lon}"
    card = f"/tra-cuu/diem?lat={lat}&lon={lon}"
    workers = children(server.pid)
    assert len(workers) == 2, workers
    # the job worker `make run` runs beside gunicorn
    job_log = tmp_path / "worker.log"
    env = {
        **installation.env,
        "DATABASE_URL": installation.url(),
        "PORTAL_JOBS_INLINE": "0",
        "PORTAL_JOBS_SWEEP": "1",
    }
    job_worker = start_worker(env, job_log.open("w"))
    try:
        # every worker holds pooled connections: what a restart leaves stale
        answers = together([lambda: portal.get(lookup)] * 24)
        assert {a[0] for a in answers} == {200}, answers
        assert connected_to(workers, installation.port) == set(workers)

        installation.stop()  # a fast shutdown: every connection is closed under the portal
        try:
            seq = iter(range(20_000, 21_000))

            def tip():
                write = Write("tip", next(seq))
                ledger.append(write)
                portal.tip(write)
                return write.status, {"Retry-After": write.error} if write.status == 503 else {}

            calls = [
                lambda: portal.get(lookup),
                lambda: portal.get(card),
                lambda: portal.get("/teams/", staff=True),
                lambda: portal.get("/healthz"),
                tip,
            ] * 4
            started = time.monotonic()
            answers = together(calls)
            took, down_count = time.monotonic() - started, len(calls)
            statuses = [status for status, _headers in answers]
            assert statuses == [503] * len(calls), statuses
            assert all(headers.get("Retry-After") == "5" for _s, headers in answers), answers
            assert took < 5, f"{len(calls)} requests took {took:.1f} s with the database down"
        finally:
            installation.start()  # also when an assertion failed: the next tests need it
        restarted = time.monotonic()
        with admin_db.connect() as db:
            back_at = db.scalar(text("SELECT now()"))
        while (status := portal.get(lookup, timeout=5)[0]) != 200:
            assert status in (503, None), status
            assert time.monotonic() - restarted < 10, "no recovery in 10 s"
            time.sleep(0.1)
        recovery = time.monotonic() - restarted
        # both workers serve again, by the same gunicorn: no 500 from a stale connection
        calls = [
            lambda: portal.get(lookup),
            lambda: portal.get(card),
            lambda: portal.get("/teams/", staff=True),
            tip,
        ] * 8
        answers = together(calls)
        statuses = Counter(status for status, _headers in answers)
        assert set(statuses) <= {200, 201}, (statuses, errors_logged(installation))
        assert server.poll() is None and children(server.pid) == workers
        assert connected_to(workers, installation.port) == set(workers)
        print(
            f"down: {down_count} requests answered 503 in {took:.2f} s; recovered"
            f" {recovery:.2f} s after the restart; then {dict(statuses)}"
        )
        # the job worker lived through it and runs the jobs queued (a member edit queues the
        # refresh of its commune's coverage): at least one finishes after the restart
        edit = portal.member_edit(Write("member", next(seq)))
        ledger.append(edit)
        assert edit.status == 204, (edit.status, edit.error)
        deadline = time.monotonic() + 40
        while True:
            with admin_db.connect() as db:
                left, done, failed = db.execute(
                    text(
                        "SELECT count(*) FILTER (WHERE status IN ('queued', 'running')),"
                        " count(*) FILTER (WHERE status = 'done' AND finished_at > :since),"
                        " count(*) FILTER (WHERE status = 'failed') FROM jobs"
                    ),
                    {"since": back_at},
                ).one()
            if left == 0 and done:
                break
            assert job_worker.poll() is None, job_log.read_text()[-3000:]
            assert time.monotonic() < deadline, (left, done, job_log.read_text()[-3000:])
            time.sleep(0.3)
        assert not failed and job_worker.poll() is None, job_log.read_text()[-3000:]
    finally:
        stop(job_worker)
    held = check_writes(admin_db, ledger)
    assert not held.problems, held.problems


def big_photo() -> bytes:
    """A photo that takes the re-encoding child a while: a large noisy JPEG."""
    from PIL import Image

    side = 2400
    noise = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    noise.save(out, "JPEG", quality=70)
    return out.getvalue()


def serving_again(installation, server, portal: Portal, killed: list[int]) -> list[int]:
    """Wait until gunicorn has put new workers in place of the killed ones and each serves
    (holds a connection to PostgreSQL, which a worker still booting has not); the workers."""
    lat, lon = portal.places.point
    deadline = time.monotonic() + 60
    while True:
        alive = children(server.pid)
        if (
            len(alive) == 2
            and not set(alive) & set(killed)
            and connected_to(alive, installation.port) == set(alive)
        ):
            return alive
        assert time.monotonic() < deadline, ("no new worker serving", alive, killed)
        together([lambda: portal.get(f"/api/lookup?lat={lat}&lon={lon}", timeout=5)] * 4)


def test_a_web_worker_killed_mid_request_loses_nothing_committed(
    installation, served, portal, admin_db, ledger
):
    base, server = served
    gunicorn_port = int(base.rsplit(":", 1)[1])
    workers = children(server.pid)
    killed = []
    # 1. a slow tip (a large photo being re-encoded): its worker killed while it works
    slow = Write("tip", 30_000, photo=True)
    portal.photo_b64, small = base64.b64encode(big_photo()).decode(), portal.photo_b64
    try:
        sending = threading.Thread(target=portal.tip, args=(slow,))
        sending.start()
        deadline = time.monotonic() + 20
        while not (busy := [w for w in children(server.pid) if children(w)]):
            assert sending.is_alive() and time.monotonic() < deadline, (slow, workers)
            time.sleep(0.02)
        os.kill(busy[0], signal.SIGKILL)
        killed.append(busy[0])
        sending.join(TIMEOUT + 5)
    finally:
        portal.photo_b64 = small
    ledger.append(slow)
    assert slow.status is None, (slow.status, slow.error)  # the connection was cut
    # 2. writes under way while gunicorn boots a new worker in its place, and while the other
    # worker is killed once the new one serves
    writes = plan(80, first=31_000)
    ledger.extend(writes)

    new_serves = threading.Event()
    lat, lon = portal.places.point

    def kill_the_other(sent):
        deadline = time.monotonic() + 60
        while True:
            alive = children(server.pid)
            new = [w for w in alive if w not in workers]
            if new and connected_to(new, installation.port) == set(new):
                break
            assert time.monotonic() < deadline, ("no new worker serving", alive)
            if sent() >= 30:  # the writes so far are done: something for it to serve
                portal.get(f"/api/lookup?lat={lat}&lon={lon}", timeout=5)
            time.sleep(0.05)
        new_serves.set()
        wait_for(sent, 50)
        victim = next(w for w in alive if w in workers)
        deadline = time.monotonic() + 10
        while not connected_to([victim], gunicorn_port, local=True):  # amid a request
            assert time.monotonic() < deadline, "the worker serves no write"
            time.sleep(0.005)
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)

    run_writes(portal, writes, threads=8, during=kill_the_other, hold=(30, new_serves))
    serving_again(installation, server, portal, killed)
    cut = [w for w in writes if w.status is None]
    print(f"killed {len(killed)} workers; {len(writes)} writes: {summary(writes)}")
    assert cut, summary(writes)
    # a write whose worker died is cut short; the others are answered (no hang on a lock
    # the dead worker's transaction held, no 500)
    odd = [(w.seq, w.status, w.error) for w in writes if w.status not in (201, 204, None)]
    odd += [(w.seq, w.status, w.error) for w in cut if w.error == "TimeoutError"]
    assert not odd, (odd, summary(writes), errors_logged(installation))
    after = portal.tip(Write("tip", 32_000))
    ledger.append(after)
    assert after.status == 201, (after.status, after.error)
    held = check_writes(admin_db, ledger)
    assert not held.problems, held.problems
    print(f"in the database: {held.tips_found} tips, {held.edits_found} member edits")
    check_review(admin_db)
