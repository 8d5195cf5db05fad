"""The area browser: the tree, search, and an area with its map."""

from __future__ import annotations

import json
from dataclasses import dataclass

from geo import maps
from portal import audit, mapping
from portal.areas import queries
from portal.errors import NotFound
from portal.extensions import db
from portal.i18n import N_, _, label, number
from portal.models import Area, PoliceContact, Team
from portal.pagination import Page, paginate
from portal.scope import Scope
from portal.security import current_scope
from portal.text import search_text, search_words

KIND_LABELS = {
    "thanh_pho": N_("Thành phố trực thuộc trung ương"),
    "tinh": N_("Tỉnh"),
    "quan": N_("Quận"),
    "huyen": N_("Huyện"),
    "thi_xa": N_("Thị xã"),
    "thanh_pho_thuoc_tinh": N_("Thành phố thuộc tỉnh"),
    "phuong": N_("Phường"),
    "xa": N_("Xã"),
    "dac_khu": N_("Đặc khu"),
    "thon": N_("Thôn"),
    "lang": N_("Làng"),
    "ap": N_("Ấp"),
    "ban": N_("Bản"),
    "to_dan_pho": N_("Tổ dân phố"),
    "khu_pho": N_("Khu phố"),
    "khom": N_("Khóm"),
}


def land_area_text(m2: float) -> str:
    """Square kilometres for communes, hectares for villages, in the user's language."""
    return f"{number(m2 / 1e6, 2)} km²" if m2 >= 1e6 else f"{number(m2 / 1e4, 2)} ha"


def kind_label(kind: str) -> str:
    return label(KIND_LABELS, kind)


@dataclass
class AreaView:
    area: Area
    ancestors: list[Area]
    children: Page
    teams: list[Team]
    land_m2: float | None
    map: maps.MapParts | None
    history: Page
    police: PoliceContact | None = None  # a commune's police contact, shown to citizens


def _page(query, page: int, scope: Scope) -> Page:
    """A page of areas, with how many children each has (notes), for the tree."""
    result = paginate(query, page)
    if result.items:
        ids = [a.id for a in result.items]
        result.notes = dict(db.session.execute(queries.child_counts(ids, scope)).all())
    return result


def roots() -> list[tuple[Area, Page]]:
    """The top-level areas in scope, each with the first page of its children (an open tree)."""
    scope = current_scope()
    tops = db.session.scalars(queries.roots(scope)).all()
    return [(top, _page(queries.children(top.id, scope), 1, scope)) for top in tops]


def get_area(area_id: int) -> Area:
    """The area, if it exists and is in the user's scope; NotFound otherwise."""
    area = db.session.scalar(queries.area(area_id, current_scope()))
    if area is None:
        raise NotFound(_("Không tìm thấy địa bàn số {id}.", id=area_id))
    return area


def children(area_id: int, page: int = 1) -> tuple[Area, Page]:
    area = get_area(area_id)
    scope = current_scope()
    return area, _page(queries.children(area.id, scope), page, scope)


def search(text: str, page: int = 1) -> Page | None:
    """Areas matching the text without regard to diacritics; None when the text is too short."""
    if search_text(text) is None:
        return None
    scope = current_scope()
    return _page(queries.search(search_words(text), scope), page, scope)


def history(area_id: int, page: int = 1) -> tuple[Area, Page]:
    area = get_area(area_id)
    return area, paginate(audit.history("area", area.id), page)


def area_view(area_id: int, page: int = 1, history_page: int = 1) -> AreaView:
    area = get_area(area_id)
    scope = current_scope()
    kids = _page(queries.children(area.id, scope), page, scope)
    teams = list(db.session.scalars(queries.active_teams_of_area(area.id, scope)))
    land = db.session.scalar(queries.land_area_m2(area.id))  # None: the area has no shape
    return AreaView(
        area=area,
        ancestors=list(db.session.scalars(queries.ancestors(area.id, scope))),
        children=kids,
        teams=teams,
        land_m2=land,
        map=area_map(area) if land is not None else None,
        history=paginate(audit.history("area", area.id), history_page),
        police=db.session.scalar(queries.police_contact(area.id))
        if area.level == "commune"
        else None,
    )


def area_map(area: Area) -> maps.MapParts:
    """The area's outline and all its current children, simplified for display."""
    bounds = db.session.execute(queries.extent(area.id)).one()
    child_ids = list(
        db.session.scalars(queries.children(area.id, current_scope()).with_only_columns(Area.id))
    )
    rows = db.session.execute(
        queries.display_geojson([area.id, *child_ids], mapping.tolerance(bounds))
    ).all()
    shapes = {row[0]: (row[1], json.loads(row[2])) for row in rows}
    m = mapping.new_map(bounds)
    name, geometry = shapes[area.id]
    outline = {"type": "Feature", "geometry": geometry, "properties": {"name": name}}
    maps.add_outline(m, outline, name)
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
    return mapping.render(m)
