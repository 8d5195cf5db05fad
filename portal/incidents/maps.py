"""The maps of incidents and tips, and the queries behind them.

- A commune (an officer's, or one the admin chose) or a team leader's villages: each item a
  clustered circle marker coloured by kind, outlined by status, linking to the item's page.
- The city (the admin, no commune chosen): never one marker per item. Counts are aggregated in
  PostgreSQL, either on a grid (a heat map) or per village (circles sized by count).

Only kind, status, date and place reach a map: never a reporter's contact, a description or a
photo (those stay on the item's page, behind its own checks).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Integer, Select, cast, func, literal, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import aliased

from geo import maps
from portal import mapping
from portal.errors import MESSAGES, BadParameter, NotFound
from portal.extensions import db
from portal.i18n import N_, _, format_datetime
from portal.incidents import kinds
from portal.incidents.filters import Filters, apply, parse_filters
from portal.models import (
    INCIDENT_KINDS,
    AccountRole,
    Area,
    Incident,
    Level,
    Status,
)
from portal.scope import Scope

VIEWS = ("heat", "villages")  # the city's two aggregated views
GRID = 0.002  # degrees (about 210 m north-south, 200 m east-west in Hanoi): a heat cell
MAX_MARKERS = 3000  # a commune's year is a few hundred; beyond this, the newest are drawn
STAFF = (AccountRole.ADMIN, AccountRole.COMMUNE_OFFICER, AccountRole.TEAM_LEADER)
# the villages view's tiles (portal.tiles): each village tinted by its count, light enough for
# the circles drawn over them; the classes are portal.tiles.queries.with_incidents'
VILLAGE_STYLES = {
    "none": {"color": "#adb5bd", "weight": 0.5, "fillColor": "#f8f9fa", "fillOpacity": 0.2},
    "low": {"color": "#e5989b", "weight": 0.5, "fillColor": "#fcbba1", "fillOpacity": 0.45},
    "mid": {"color": "#d62828", "weight": 0.6, "fillColor": "#fb6a4a", "fillOpacity": 0.5},
    "high": {"color": "#6a040f", "weight": 0.8, "fillColor": "#cb181d", "fillOpacity": 0.55},
}
VILLAGE_LEVELS = {
    "none": N_("Không có việc"),
    "low": N_("1–2 việc"),
    "mid": N_("3–9 việc"),
    "high": N_("Từ 10 việc"),
}


@dataclass(frozen=True)
class Entry:
    """A line of the legend: a kind or a status, its label, colour or style, and count."""

    code: str
    label: str
    count: int
    colour: str = ""
    style: dict = field(default_factory=dict)


@dataclass
class MapPage:
    """What the map page and its fragment show."""

    filters: Filters
    view: str  # "items" (a commune's or a leader's), "heat" or "villages" (the city)
    title: str
    total: int
    shown: int  # markers drawn (items) or items counted on the map (city)
    kinds: list[Entry]
    statuses: list[Entry]
    communes: list[tuple[int, str]]  # the admin's chooser; empty for the others
    map: maps.MapParts | None
    outside_villages: int = 0  # the villages view: items not in any village
    village_classes: list[Entry] = field(default_factory=list)  # the villages view's tints

    @property
    def city(self) -> bool:
        return self.view in VIEWS


def parse_view(args) -> str:
    """The city's view from the query string: heat (the default) or villages; else a 400."""
    view = args.get("view", "").strip() or "heat"
    if view not in VIEWS:
        raise BadParameter("view", _("Cách xem không có trong danh sách."))
    return view


# --- queries -------------------------------------------------------------------------------


def _filtered(scope: Scope, filters: Filters, *columns) -> Select:
    return scope.incidents(apply(select(*columns), filters))


def counts_query(scope: Scope, filters: Filters) -> Select:
    """Items by kind and status, for the legend."""
    return _filtered(scope, filters, Incident.kind, Incident.status, func.count()).group_by(
        Incident.kind, Incident.status
    )


def items_query(scope: Scope, filters: Filters, limit: int = MAX_MARKERS) -> Select:
    """A commune's or a leader's items, newest first: only what a marker shows."""
    return (
        _filtered(
            scope,
            filters,
            Incident.id,
            Incident.kind,
            Incident.status,
            Incident.occurred_at,
            func.ST_Y(Incident.geom),
            func.ST_X(Incident.geom),
        )
        .order_by(Incident.occurred_at.desc(), Incident.id.desc())
        .limit(limit)
    )


def grid_query(scope: Scope, filters: Filters, grid: float = GRID) -> Select:
    """Items counted per grid cell (snapped to `grid` degrees): each cell's row and column
    (whole numbers: the browser places the cell's centre) and its count."""
    row = func.floor(func.ST_Y(Incident.geom) / grid)
    col = func.floor(func.ST_X(Incident.geom) / grid)
    return _filtered(scope, filters, cast(row, Integer), cast(col, Integer), func.count()).group_by(
        row, col
    )


def village_counts_query(scope: Scope, filters: Filters) -> Select:
    """Items counted per village (the village's id and its count)."""
    return (
        _filtered(scope, filters, Incident.area_id, func.count().label("n"))
        .where(Incident.area_id.is_not(None))
        .group_by(Incident.area_id)
        .order_by(func.count().desc())
    )


def _areas_version(level: str) -> tuple:
    """What changes when a level's current areas change: made or ended (count, largest id),
    a boundary edited (updated_at), a rename (the names' digest: renames leave updated_at)."""
    return tuple(
        db.session.execute(
            select(
                func.count(Area.id),
                func.max(Area.id),
                func.max(Area.updated_at),
                func.md5(func.string_agg(Area.name, aggregate_order_by(literal("|"), Area.id))),
            ).where(Area.level == level, Area.valid_to.is_(None))
        ).one()
    )


# Work on the city's areas kept in the process (one city per deployment) until they change:
# name → (version, value)
_KEPT: dict[str, tuple[tuple, object]] = {}


def _kept(name: str, version: tuple, build):
    found = _KEPT.get(name)
    if found is None or found[0] != version:
        found = _KEPT[name] = (version, build())
    return found[1]


def village_points() -> dict[int, tuple[float, float, str, str]]:
    """Every current village's point inside it, name and commune's name, kept until a village
    changes: finding 5,400 points on their polygons cost 80 ms a page (a commune's rename
    shows when a village next changes)."""

    def build() -> dict:
        commune = aliased(Area)
        point = func.ST_PointOnSurface(Area.geom)
        rows = db.session.execute(
            select(Area.id, func.ST_Y(point), func.ST_X(point), Area.name, commune.name)
            .join(commune, commune.id == Area.parent_id)
            .where(Area.level == Level.VILLAGE, Area.valid_to.is_(None), Area.geom.is_not(None))
        )
        return {area_id: (lat, lon, name, c) for area_id, lat, lon, name, c in rows}

    return _kept("village_points", _areas_version(Level.VILLAGE), build)


def _current_communes(scope: Scope) -> Select:
    return scope.areas(select(Area.id, Area.name)).where(
        Area.level == Level.COMMUNE, Area.valid_to.is_(None)
    )


def _extent(query: Select) -> tuple[float, float, float, float] | None:
    """The bounding box (west, south, east, north) of the areas a query selects."""
    sub = query.subquery()
    box = db.session.execute(
        select(
            func.ST_XMin(func.ST_Extent(sub.c.geom)),
            func.ST_YMin(func.ST_Extent(sub.c.geom)),
            func.ST_XMax(func.ST_Extent(sub.c.geom)),
            func.ST_YMax(func.ST_Extent(sub.c.geom)),
        )
    ).one()
    return None if box[0] is None else tuple(box)


def _outlines(query: Select, tolerance: float, digits: int = 5) -> dict:
    """The areas' outlines (name, geom) simplified to `tolerance`, as a FeatureCollection."""
    sub = query.subquery()
    shape = func.ST_AsGeoJSON(func.ST_SimplifyPreserveTopology(sub.c.geom, tolerance), digits)
    rows = db.session.execute(select(sub.c.name, shape).where(sub.c.geom.is_not(None))).all()
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": json.loads(geometry), "properties": {"label": name}}
            for name, geometry in rows
        ],
    }


def _city_outlines(areas: Select, tolerance: float) -> dict:
    """The communes' outlines, drawn faintly: coarser than a pixel (2), to 4 decimals (~10 m);
    simplifying 126 real boundaries costs about 200 ms, so they are kept until a commune
    changes."""
    version = (*_areas_version(Level.COMMUNE), tolerance)
    return _kept("city_outlines", version, lambda: _outlines(areas, 2 * tolerance, digits=4))


# --- the page ------------------------------------------------------------------------------


def _where(scope: Scope, filters: Filters) -> tuple[str, str, Select]:
    """Which map: the view kind, its title and the areas drawn faintly for orientation."""
    if scope.is_admin and not filters.commune_id:
        areas = _current_communes(scope).add_columns(Area.geom)
        return "city", _("Toàn thành phố"), areas
    commune_id = filters.commune_id if scope.is_admin else scope.commune_id
    name = db.session.scalar(select(Area.name).where(Area.id == commune_id))
    villages = select(Area.name, Area.geom).where(
        Area.parent_id == commune_id, Area.valid_to.is_(None), Area.level == Level.VILLAGE
    )
    if scope.role == AccountRole.TEAM_LEADER:
        villages = scope.areas(villages)
        return "items", _("Các thôn của tổ ({commune})", commune=name or "—"), villages
    return "items", name or "—", villages


def _legend(rows) -> tuple[int, list[Entry], list[Entry]]:
    by_kind: Counter = Counter()
    by_status: Counter = Counter()
    for kind, status, n in rows:
        by_kind[kind] += n
        by_status[status] += n
    kind_entries = [
        Entry(k, kinds.kind_label(k), by_kind[k], colour=kinds.KIND_COLOURS[k])
        for k in sorted(by_kind, key=lambda k: (-by_kind[k], INCIDENT_KINDS.index(k)))
    ]
    status_entries = [
        Entry(s, kinds.status_label(s), by_status[s], style=kinds.STATUS_STYLES[s])
        for s in Status.ALL
        if by_status[s]
    ]
    return sum(by_kind.values()), kind_entries, status_entries


def _local(moment: datetime) -> str:
    return format_datetime(moment)


def _marker(row, item_url: str) -> maps.ClusterPoint:
    incident_id, kind, status, occurred_at, lat, lon = row
    kind_text, status_text = kinds.kind_label(kind), kinds.status_label(status)
    return maps.ClusterPoint(
        lat=lat,
        lon=lon,
        fill=kinds.KIND_COLOURS.get(kind, "#6c757d"),
        style=status,
        tooltip=f"{kind_text} · {status_text}",
        lines=(kind_text, status_text, _local(occurred_at)),
        link=(item_url.format(id=incident_id), _("Xem chi tiết")),
    )


def _add_village_tiles(m, filters: Filters) -> None:
    """Every village of the reader's scope tinted by its count under the same filters, from
    the incidents tiles, under the circles (the communes are only outlined here)."""
    maps.add_vector_tiles(
        m,
        mapping.tiles_url("incidents", **filters.query_args()),
        "incidents",
        VILLAGE_STYLES,
        _("{name}: {n} việc", name="{name}", n="{n}"),
        {key: _(words) for key, words in VILLAGE_LEVELS.items()},
        [maps.TileLink(mapping.url_pattern("areas.show", {"area_id": "{id}"}), _("Mở địa bàn"))],
        z_index=350,
    )


def map_page(scope: Scope, args, item_url: str) -> MapPage:
    """The map for the query string's filters, in the reader's scope. `item_url` is the path
    of an item with "{id}" in place of its id."""
    scope.require(*STAFF)
    filters = parse_filters(args, default_days=30)
    view = parse_view(args)
    communes: list[tuple[int, str]] = []
    if scope.is_admin:
        query = _current_communes(scope).order_by(Area.name)
        communes = [(i, name) for i, name in db.session.execute(query)]
    if filters.commune_id is not None:
        allowed = {c[0] for c in communes} if scope.is_admin else {scope.commune_id}
        if filters.commune_id not in allowed:
            raise NotFound(_(MESSAGES[404]))
    where, title, areas = _where(scope, filters)
    bounds = _extent(areas)
    total, kind_entries, status_entries = _legend(
        db.session.execute(counts_query(scope, filters)).all()
    )
    page = MapPage(
        filters=filters,
        view=view if where == "city" else "items",
        title=title,
        total=total,
        shown=0,
        kinds=kind_entries,
        statuses=status_entries,
        communes=communes,
        map=None,
    )
    if bounds is None:
        return page
    m = mapping.new_map(bounds)
    tolerance = mapping.tolerance(bounds)
    if where == "city":
        maps.add_faint(m, _city_outlines(areas, tolerance), _("Xã, phường"), ("label",))
    else:
        maps.add_faint(m, _outlines(areas, tolerance), _("Thôn, tổ dân phố"), ("label",))
    if page.view == "items":
        rows = db.session.execute(items_query(scope, filters)).all()
        page.shown = len(rows)
        points = [_marker(r, item_url) for r in rows]
        maps.add_clusters(m, points, _("Sự việc"), kinds.STATUS_STYLES)
    elif page.view == "heat":
        cells = db.session.execute(grid_query(scope, filters)).all()
        page.shown = sum(n for _row, _col, n in cells)
        maps.add_heat(m, cells, _("Mật độ sự việc"), grid=GRID)
    else:
        where_is = village_points()
        # the label translated once, filled in 5,000 times
        label = _("{village}, {commune}: {n} việc", village="{0}", commune="{1}", n="{2}")
        places = [
            (lat, lon, n, label.format(v, c, n))
            for area_id, n in db.session.execute(village_counts_query(scope, filters))
            if area_id in where_is
            for lat, lon, v, c in [where_is[area_id]]
        ]
        page.shown = sum(p[2] for p in places)
        page.outside_villages = total - page.shown
        _add_village_tiles(m, filters)
        page.village_classes = [
            Entry(key, _(words), 0, style=VILLAGE_STYLES[key])
            for key, words in VILLAGE_LEVELS.items()
        ]
        maps.add_counts(m, places)
    # every package of every view: the page's scripts stay when HTMX swaps in another view
    page.map = mapping.render(m, ("markercluster", "heat", "vectorgrid"))
    return page
