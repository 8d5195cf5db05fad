"""The area browser: the tree, search, and an area with its map."""

from __future__ import annotations

import json
from dataclasses import dataclass

from flask import current_app, url_for
from sqlalchemy import func

from geo import maps
from portal.areas import queries
from portal.errors import NotFound
from portal.extensions import db
from portal.i18n import _
from portal.models import Area, Team
from portal.text import fold

KIND_LABELS = {
    "thanh_pho": "Thành phố trực thuộc trung ương",
    "tinh": "Tỉnh",
    "quan": "Quận",
    "huyen": "Huyện",
    "thi_xa": "Thị xã",
    "thanh_pho_thuoc_tinh": "Thành phố thuộc tỉnh",
    "phuong": "Phường",
    "xa": "Xã",
    "dac_khu": "Đặc khu",
    "thon": "Thôn",
    "lang": "Làng",
    "ap": "Ấp",
    "ban": "Bản",
    "to_dan_pho": "Tổ dân phố",
    "khu_pho": "Khu phố",
    "khom": "Khóm",
}
MIN_QUERY = 2


def kind_label(kind: str) -> str:
    return _(KIND_LABELS.get(kind, kind))


@dataclass
class Page:
    items: list[Area]
    counts: dict[int, int]  # children per item
    page: int
    has_more: bool
    total: int | None = None


@dataclass
class AreaView:
    area: Area
    ancestors: list[Area]
    children: Page
    teams: list[Team]
    land_m2: float | None
    map: maps.MapParts | None


def _page(query, page: int, per_page: int) -> Page:
    page = max(page, 1)
    rows = db.session.scalars(query.limit(per_page + 1).offset((page - 1) * per_page)).all()
    items = rows[:per_page]
    counts = (
        dict(db.session.execute(queries.child_counts([a.id for a in items])).all()) if items else {}
    )
    total = db.session.scalar(query.with_only_columns(func.count()).order_by(None))
    return Page(items, counts, page, len(rows) > per_page, total)


def per_page() -> int:
    return current_app.config["PAGE_SIZE"]


def roots() -> list[tuple[Area, Page]]:
    """The top-level areas, each with the first page of its children, for the open tree."""
    tops = db.session.scalars(queries.roots()).all()
    return [(top, _page(queries.children(top.id), 1, per_page())) for top in tops]


def get_area(area_id: int) -> Area:
    area = db.session.get(Area, area_id)
    if area is None:
        raise NotFound(_("Không tìm thấy địa bàn số {id}.", id=area_id))
    return area


def children(area_id: int, page: int = 1) -> tuple[Area, Page]:
    area = get_area(area_id)
    return area, _page(queries.children(area.id), page, per_page())


def search(text: str, page: int = 1) -> Page | None:
    """Areas matching the text without regard to diacritics; None when the text is too short."""
    folded = fold(text)
    if len(folded) < MIN_QUERY:
        return None
    return _page(queries.search(folded), page, per_page())


def area_view(area_id: int, page: int = 1) -> AreaView:
    area = get_area(area_id)
    kids = _page(queries.children(area.id), page, per_page())
    teams = list(db.session.scalars(queries.active_teams_of_area(area.id)))
    land = db.session.scalar(queries.land_area_m2(area.id)) if area.geom is not None else None
    return AreaView(
        area=area,
        ancestors=list(db.session.scalars(queries.ancestors(area.id))),
        children=kids,
        teams=teams,
        land_m2=land,
        map=area_map(area) if area.geom is not None else None,
    )


def area_map(area: Area) -> maps.MapParts:
    """The area's outline and all its current children, simplified for display."""
    bounds = db.session.execute(queries.extent(area.id)).one()
    span = max(bounds[2] - bounds[0], bounds[3] - bounds[1])
    # about a pixel on a 1,500-pixel-wide map: invisible on screen, and keeps a commune's
    # page well under 500 KB
    tolerance = span / 1500
    child_ids = list(db.session.scalars(queries.children(area.id).with_only_columns(Area.id)))
    rows = db.session.execute(queries.display_geojson([area.id, *child_ids], tolerance)).all()
    shapes = {row[0]: (row[1], json.loads(row[2])) for row in rows}
    config = current_app.config
    m = maps.new_map(
        maps.Assets(
            leaflet_js=url_for("vendor", filename="leaflet/dist/leaflet.js"),
            leaflet_css=url_for("vendor", filename="leaflet/dist/leaflet.css"),
        ),
        maps.Tiles(config["MAP_TILE_URL"], config["MAP_TILE_ATTRIBUTION"])
        if config["MAP_TILE_URL"]
        else None,
        tuple(bounds),
    )
    name, geometry = shapes[area.id]
    maps.add_outline(
        m, {"type": "Feature", "geometry": geometry, "properties": {"name": name}}, name
    )
    maps.add_children(
        m,
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "geometry": shapes[i][1], "properties": {"name": shapes[i][0]}}
                for i in child_ids
                if i in shapes
            ],
        },
        _("Địa bàn trực thuộc"),
        ["name"],
    )
    return maps.render_parts(m, own_prefixes=(url_for("vendor", filename=""),))
