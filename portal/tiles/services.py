"""Vector tiles of every current village for the city-wide maps, made by PostGIS and kept.

Layers (LAYERS): `coverage` (the stored coverage status of each village), `patrols` (done
patrols and violations in a period of months, and their class) and `incidents` (items counted
per village under the incidents map's filters). A feature carries only what its map draws and
says: id, name, and the layer's status and counts. Nothing private (no phone, no member, no
reporter) is ever selected.

Scope: a tile holds only the villages of the reader's scope (portal.scope: an officer's
commune, a leader's villages; incidents are counted in the reader's scope too); a layer's roles
are those of its page (coverage and patrols: planners; incidents: staff).

Size: below zoom MIN_ZOOM a tile is empty (the maps draw communes there); below LOW_UNTIL the
tile's grid is coarser (EXTENT_LOW) and shapes are simplified to one unit of it before PostGIS
clips and quantises them, so that a tile of the whole city stays small (bench/bench_tiles.py:
at most 90 KB, 45 KB as sent; a view of the city map with its page under 300 KB). A tile
with no village is a 204. Responses are compressed by portal.compression (brotli or gzip).

Freshness and caching: a tile's body depends on its layer, the reader's scope, the layer's
parameters (months, filters, as resolved: "this month" is a date), z/x/y, and the data's
generation numbers: lookup_generation.bounds (areas and their parts, migration 0016) and
tile_generation.coverage / patrols / incidents (migration 0018), each bumped at the commit of
any change by a deferred trigger. Every request reads those numbers (a one-row primary-key
read, far cheaper than a tile) and builds the key from them:
- the ETag is a digest of the key, so a browser's revalidation (If-None-Match) of an
  unchanged tile is a 304 without making it; the response is `private, no-cache` (kept by
  the reader's browser only, always revalidated);
- the body is kept in a bounded least-recently-used store per worker (portal.tiles.cache),
  under the same key: a change moves a generation, the next request asks for a new key and
  the old entry ages out. No entry is ever served for data it was not made from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Select, select

from portal.errors import MESSAGES, NotFound
from portal.extensions import db
from portal.i18n import _
from portal.incidents.filters import apply, parse_filters
from portal.models import AccountRole, Incident
from portal.patrols.services import parse_months
from portal.scope import Scope
from portal.security import current_scope
from portal.tiles import queries
from portal.tiles.cache import TILES

MIN_ZOOM = 8  # below: whole provinces in a tile, every village under a pixel
MAX_ZOOM = 20
EXTENT = 4096
EXTENT_LOW = 1024  # below zoom LOW_UNTIL: a quarter pixel of a 256-pixel tile is enough
LOW_UNTIL = 14
BUFFER = 64  # units of 4096: strokes at a tile's edge are not cut short
PLANNERS = ("admin", "commune_officer")
STAFF = ("admin", "commune_officer", "team_leader")
GENERATION = {"coverage": 1, "patrols": 2, "incidents": 3}  # its column in generations()


@dataclass(frozen=True)
class Layer:
    """A tile layer: who may read it, and how it adds its attributes from the query string
    (`attributes` gives the parameters' key for the cache and the query builder)."""

    name: str
    roles: tuple[str, ...]
    attributes: Callable[[Scope, object], tuple[tuple, Callable[[Select], Select]]]


def _coverage(_scope: Scope, _args) -> tuple[tuple, Callable[[Select], Select]]:
    return (), queries.with_coverage


def _patrols(_scope: Scope, args) -> tuple[tuple, Callable[[Select], Select]]:
    months = parse_months(args)
    return (months.first, months.last), lambda q: queries.with_patrols(
        q, months.first, months.last, months.count
    )


def _incidents(scope: Scope, args) -> tuple[tuple, Callable[[Select], Select]]:
    filters = parse_filters(args, default_days=30)
    counted = scope.incidents(apply(select(Incident.id), filters))
    key = tuple(sorted((k, str(v)) for k, v in filters.query_args().items()))
    return key, lambda q: queries.with_incidents(q, counted)


LAYERS = {
    "coverage": Layer("coverage", PLANNERS, _coverage),
    "patrols": Layer("patrols", PLANNERS, _patrols),
    "incidents": Layer("incidents", STAFF, _incidents),
}


@dataclass(frozen=True)
class Tile:
    """A tile's answer: its body (b"" for an empty tile) and its ETag; `body` is None when
    the browser's copy is current (a 304)."""

    body: bytes | None
    etag: str


def _layer(name: str, scope: Scope) -> Layer:
    """The layer, if it exists and the reader's role may read it; else 404 (as a guessed id)."""
    layer = LAYERS.get(name)
    if layer is None:
        raise NotFound(_(MESSAGES[404]))
    scope.require(*layer.roles)
    return layer


def _check_tile(z: int, x: int, y: int) -> None:
    if not 0 <= z <= MAX_ZOOM or not (0 <= x < 2**z and 0 <= y < 2**z):
        raise NotFound(_("Không có ô bản đồ {z}/{x}/{y}.", z=z, x=x, y=y))


def _scope_key(scope: Scope) -> tuple:
    """What the reader's scope selects, for the key: a team leader's villages are read too,
    since they change by the calendar (TeamArea.active(), at midnight) with no generation
    moving, and a kept tile must not show a village the team no longer covers."""
    if scope.is_admin:
        return ("admin",)
    if scope.role == AccountRole.TEAM_LEADER:
        covered = tuple(sorted(db.session.scalars(scope.covered_areas())))
        return (scope.role, scope.commune_id, scope.team_id, covered)
    return (scope.role, scope.commune_id, scope.team_id)


def etag_of(key: tuple) -> str:
    return hashlib.blake2b(repr(key).encode(), digest_size=12).hexdigest()


def tile(name: str, z: int, x: int, y: int, args, known: tuple[str, ...] = ()) -> Tile:
    """A layer's tile for the reader; `known` are the ETags the browser holds (If-None-Match).
    Raises NotFound for an unknown layer, a role that may not read it or a tile outside the
    world, BadParameter for a bad period or filter."""
    scope = current_scope()
    layer = _layer(name, scope)
    _check_tile(z, x, y)
    params, attributes = layer.attributes(scope, args)
    generations = tuple(db.session.execute(queries.generations()).one())
    # boundaries (names too) and the layer's own data: other layers' changes keep this one
    key = (name, _scope_key(scope), params, z, x, y, generations[0], generations[GENERATION[name]])
    etag = etag_of(key)
    if etag in known:
        return Tile(None, etag)
    if z < MIN_ZOOM:
        return Tile(b"", etag)
    # the store is the process's: apps on other databases (tests, benchmarks) keep their own
    kept = (current_app.config["SQLALCHEMY_DATABASE_URI"], key)
    return Tile(TILES.get(kept, lambda: make(scope, name, attributes, z, x, y)), etag)


def make(scope: Scope, name: str, attributes: Callable[[Select], Select], z, x, y) -> bytes:
    """The tile itself, from the database (no cache)."""
    villages = scope.areas(queries.villages(z, x, y))
    extent = EXTENT if z >= LOW_UNTIL else EXTENT_LOW
    query = queries.mvt(attributes(villages), name, z, x, y, extent, BUFFER, simplify=z < LOW_UNTIL)
    return bytes(db.session.scalar(query) or b"")
