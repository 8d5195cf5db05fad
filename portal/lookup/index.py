"""What each web worker keeps for the public look-up: the areas' parts in a point index, the
cards, and the answers of /api/lookup and of the card fragment pre-rendered, for as long as
the data they show has not changed.

Freshness: migration 0016's triggers bump a generation row (`cards`, `bounds`) at the commit
of any change a card or a boundary shows. A worker reads that row at most once a second
(CHECK_SECONDS), on the request that finds the last check older: a cheap primary-key read,
through db.session like every other read (so that a read replica, when one is routed, serves
it too, together with the data it describes). We chose polling over LISTEN/NOTIFY: a
notification comes from the primary only (a hot standby cannot LISTEN) and may arrive before
the replica a worker reads from has the change; it also needs a connection and a thread per
worker held open. Polling costs one query a second per worker and bounds staleness by
CHECK_SECONDS plus one request.

When `cards` moves, the kept cards and answers are dropped (made again on demand). When
`bounds` moves, the point index is stale at once: look-ups go to the database (today's query)
while a thread builds the new index, and use it from the moment it is done.

Memory: the index holds the current areas' parts as WKB, 16 bytes a vertex, and an STRtree of
their boxes (Hanoi's 302,000 vertices in 6,500 parts: see bench_lookup's lookup_memory lines
for what a worker holds at Hanoi and national scale). Beyond LOOKUP_INDEX_MAX_VERTICES the
index is not built and the database answers (the cards are still kept). Cards and answers: at
most MAX_KEPT_BYTES of each (a card fragment carries its outline and its neighbours': tens of
KB), dropped all at once past it, as portal.lookup.cache does.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import replace
from typing import Any

from flask import Flask, current_app, g, render_template, request
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from geo.pointindex import PointIndex
from portal import replica
from portal.extensions import db
from portal.models import LookupGeneration

log = logging.getLogger(__name__)

CHECK_SECONDS = 1.0
MAX_KEPT_BYTES = 48 * 2**20  # per store (cards, answers): 96 MB a worker at most
ENVIRON_KEY = "portal.lookup.fast"  # set by portal.lookup.fast on requests it may answer
ANSWERED_KEY = "portal.lookup.answered"  # set by the view when it answered from a template
CARD_SEEN_KEY = "lookup_card_seen"  # in flask.g: the generation the request's card was read at
POINT_MARK = "\x00point"  # in no answer: PostgreSQL text cannot hold NUL
LAT_MARK, LON_MARK = "\x00lat\x00", "\x00lon\x00"

PARTS = text(
    "SELECT p.area_id, a.level, a.name, ST_AsBinary(p.geom) FROM area_parts p"
    " JOIN areas a ON a.id = p.area_id WHERE a.valid_to IS NULL"
)


class Template:
    """An answer's body around the point it was asked for: pieces joined by the point's text."""

    __slots__ = ("kind", "pieces")

    def __init__(self, pieces: list[bytes], kind: str):
        self.pieces, self.kind = pieces, kind

    def fill(self, lat: float, lon: float, dumps) -> bytes:
        if self.kind == "json":
            point = dumps({"lat": lat, "lon": lon}).encode()
            return self.pieces[0] + point + self.pieces[1]
        return b"".join(
            (self.pieces[0], str(lat).encode(), self.pieces[1], str(lon).encode(), self.pieces[2])
        )


class WorkerIndex:
    def __init__(self, app: Flask):
        self.app = app
        self.max_vertices = app.config["LOOKUP_INDEX_MAX_VERTICES"]
        self.check_seconds = app.config.get("LOOKUP_INDEX_CHECK_SECONDS", CHECK_SECONDS)
        self._lock = threading.Lock()
        self.seen: tuple[int, int] | None = None  # (cards, bounds) last read
        self.day = None  # the database's current_date at that read
        self.checked_at = float("-inf")
        self.points: PointIndex | None = None
        self.points_bounds: int | None = None  # the `bounds` generation `points` was built at
        self.building: threading.Thread | None = None
        self.too_large = False
        self.cards: dict[Hashable, Any] = {}
        self.answers: dict[Hashable, Template] = {}
        self.kept_bytes: dict[str, int] = {}
        self.headers: dict[Hashable, list[tuple[str, str]]] = {}
        self.stats: dict[str, float] = {}

    # --- freshness -----------------------------------------------------------------------

    def due(self) -> bool:
        return time.monotonic() - self.checked_at >= self.check_seconds

    def check(self) -> None:
        """Read the generation (within an app context) and drop what it says has changed."""
        with self._lock:
            if not self.due():
                return
            self.checked_at = time.monotonic()
            try:
                with replica.public_reads():  # the same database the public cards come from
                    row = db.session.execute(
                        select(LookupGeneration.cards, LookupGeneration.bounds, func.current_date())
                    ).one_or_none()
            except SQLAlchemyError:
                # unreachable: nothing kept is trusted; the database path answers (503 meanwhile)
                db.session.rollback()
                self.forget()
                self.checked_at = float("-inf")
                raise
            seen = (row.cards, row.bounds) if row else (0, 0)
            # a team covers an area from one day to another (TeamArea.active(), the database's
            # current_date): the cards change at midnight with no row changing
            day = row[2] if row else None
            if seen != self.seen or day != self.day:
                self.cards, self.answers, self.kept_bytes = {}, {}, {}
                self.seen, self.day = seen, day
            if self.points_bounds != seen[1] and self.building is None and not self.too_large:
                if self.app.config.get("LOOKUP_INDEX_INLINE"):  # tests: one connection, no thread
                    here = self._bounds_here()
                    self.points, self.points_bounds = self._load(), here
                    return
                self.building = threading.Thread(target=self._build, daemon=True)
                self.building.start()

    def forget(self) -> None:
        self.seen = None
        self.cards, self.answers, self.kept_bytes = {}, {}, {}

    def wait_built(self, seconds: float = 60) -> None:
        """Until the index being built is done (tests and benchmarks)."""
        thread = self.building
        if thread is not None:
            thread.join(seconds)

    def current_points(self) -> PointIndex | None:
        if self.seen is None or self.points_bounds != self.seen[1]:
            return None
        return self.points

    def _build(self) -> None:
        try:
            with self.app.app_context(), replica.public_reads():
                here = self._bounds_here()
                self.points, self.points_bounds = self._load(), here
            give_back_memory()
        except Exception:
            log.exception("the look-up's point index could not be built; the database answers")
        finally:
            self.building = None

    def _bounds_here(self) -> int:
        """The `bounds` generation this session's connection shows, read before the parts in
        the same transaction: the index is labelled with what its own data is at least as new
        as, not with what the check read (maybe on another connection of the reader's pool,
        the primary standing in for a lagging replica)."""
        return db.session.scalar(select(LookupGeneration.bounds)) or 0

    def _load(self) -> PointIndex | None:
        start = time.perf_counter()
        before = rss_mb()
        parts, owners, areas, vertices = [], [], {}, 0
        rows = db.session.execute(PARTS, execution_options={"yield_per": 4000})
        for batch in rows.partitions():
            for area_id, level, name, wkb in batch:
                vertices += (len(wkb) - 13) // 16  # a ring's 4-byte count aside: about
                parts.append(bytes(wkb))
                owners.append(area_id)
                areas[area_id] = (level, name)
            if vertices > self.max_vertices:
                self.too_large = True
                log.warning("%s vertices: past LOOKUP_INDEX_MAX_VERTICES, not indexed", vertices)
                return None
        index = PointIndex(parts, owners, areas)
        self.stats = {
            "parts": len(index),
            "areas": index.areas,
            "vertices": index.vertices,
            "wkb_mb": index.wkb_bytes / 2**20,
            "seconds": time.perf_counter() - start,
            "rss_mb_before": before,
            "rss_mb_after": rss_mb(),
        }
        log.info("look-up index built: %s", self.stats)
        return index

    # --- kept cards and answers ----------------------------------------------------------

    def kept(self, store: str, key: Hashable, make: Callable[[], Any], since=...) -> Any:
        """The value kept for key under the current generation, or make() (kept if nothing
        changed meanwhile: a card read before a change must not outlive the change). `since`:
        the generation make()'s inputs were read under, when read before this call."""
        kept = getattr(self, store)
        value = kept.get(key)
        if value is None:
            seen = self.seen if since is ... else since
            value = make()
            if callable(seen):  # known once made
                seen = seen()
            if seen is not None and seen == self.seen and value is not None:
                weight = weigh(value)
                if self.kept_bytes.get(store, 0) + weight > MAX_KEPT_BYTES:
                    kept.clear()
                    self.kept_bytes[store] = 0
                kept[key] = value
                self.kept_bytes[store] = self.kept_bytes.get(store, 0) + weight
        return value

    def kept_card(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """A card as kept(), read on this request's own connection: kept only when that
        connection shows the generation this worker holds. The generation may have been read
        on another connection of the reader's pool (the primary standing in for a lagging
        replica, which may still serve the others): a card read there before the change
        reached it must not be kept as the new one. The answers made from the card follow."""
        g.setdefault(CARD_SEEN_KEY, self.seen)

        def checked():
            row = db.session.execute(
                select(LookupGeneration.cards, LookupGeneration.bounds)
            ).one_or_none()
            if ((row.cards, row.bounds) if row else (0, 0)) != g.get(CARD_SEEN_KEY):
                setattr(g, CARD_SEEN_KEY, None)  # this connection's data is not that generation's
            return make()

        return self.kept("cards", key, checked, since=lambda: g.get(CARD_SEEN_KEY))


def weigh(value) -> int:
    """About what a kept value weighs: a template its bytes, a card its texts and outline."""
    if isinstance(value, Template):
        return sum(len(p) for p in value.pieces) + 200
    outline = getattr(value, "outline", None)
    # a parsed GeoJSON outline: about 100 bytes of Python objects a vertex, 24 characters each
    return (
        2000
        + 2 * len(getattr(value, "neighbours", "") or "")
        + (4 * len(json.dumps(outline)) if outline else 0)
    )


def init_app(app: Flask) -> None:
    app.extensions["lookup_index"] = WorkerIndex(app)


def of(app: Flask) -> WorkerIndex | None:
    return app.extensions.get("lookup_index")


def current() -> WorkerIndex | None:
    """This worker's index, checked against the generation when due; None when switched off."""
    index = of(current_app)
    if index is not None and index.due():
        index.check()
    return index


def give_back_memory() -> None:
    """Return to the system what loading the parts left free in the allocator's arenas (the
    fetched rows): otherwise a worker's resident size keeps the load's peak (glibc only)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def rss_mb() -> float:
    """This process's resident memory, in MB."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# --- answers as templates ----------------------------------------------------------------


def _json_dump_args(app: Flask) -> dict | None:
    """jsonify's arguments, or None when it indents (debug): then nothing is pre-rendered."""
    provider = app.json
    compact = getattr(provider, "compact", None)
    if (compact is None and app.debug) or compact is False:
        return None
    return {"separators": (",", ":")}


def dumps(app: Flask):
    args = _json_dump_args(app) or {}
    return lambda value: app.json.dumps(value, **args)


def fast_key() -> tuple | None:
    """What the fast path keyed this request on, when it may answer it again."""
    return request.environ.get(ENVIRON_KEY)


def api_body(index: WorkerIndex, card, lat: float, lon: float, body_of) -> bytes | None:
    """/api/lookup's body from the area's kept template (made from body_of(card) once), for a
    request the fast path may answer; None otherwise (the view answers as before)."""
    key = fast_key()
    app = current_app._get_current_object()
    if key is None or card.border_with or _json_dump_args(app) is None:
        return None

    def make() -> Template | None:
        body = body_of(replace(card, point=None))
        body["point"] = POINT_MARK
        pieces = (dumps(app)(body) + "\n").split(dumps(app)(POINT_MARK))
        return Template([p.encode() for p in pieces], "json") if len(pieces) == 2 else None

    # under the generation the card was read at: another thread may have moved it since
    template = index.kept(
        "answers", ("json", card.area.id, "vi", key[1]), make, since=g.get(CARD_SEEN_KEY)
    )
    if template is None:
        return None
    request.environ[ANSWERED_KEY] = True
    return template.fill(lat, lon, dumps(app))


def card_body(index: WorkerIndex, card, lat: float, lon: float) -> bytes | None:
    """The card fragment's body from the area's kept template, as api_body."""
    key = fast_key()
    if key is None or card.border_with:
        return None

    def make() -> Template | None:
        marked = replace(card, point=(LAT_MARK, LON_MARK))
        html = render_template("lookup/_card.html", card=marked)
        pieces = re.split(f"{LAT_MARK}|{LON_MARK}", html)
        if len(pieces) != 3 or html.index(LAT_MARK) > html.index(LON_MARK):
            return None
        return Template([p.encode() for p in pieces], "card")

    # under the generation the card was read at: another thread may have moved it since
    template = index.kept(
        "answers", ("card", card.area.id, "vi", key[1]), make, since=g.get(CARD_SEEN_KEY)
    )
    if template is None:
        return None
    request.environ[ANSWERED_KEY] = True
    return template.fill(lat, lon, None)
