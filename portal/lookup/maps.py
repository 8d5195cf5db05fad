"""The look-up's maps: the outlines to tap on, and the place a card is about."""

from __future__ import annotations

import json

from shapely.geometry import shape

from geo import maps
from portal import mapping
from portal.extensions import db
from portal.i18n import _, current_language
from portal.lookup import queries
from portal.lookup.cache import TimedCache
from portal.models import Level

MAX_COMMUNES_DRAWN = 400  # beyond a city's communes, a phone draws the provinces instead
PHONE_PIXELS = 600  # simplify to about a pixel of a phone-wide map


kept = TimedCache()


def overview() -> maps.MapParts | None:
    """Every commune's outline (provinces at national scale), to find one's place and tap."""
    return kept.get(("overview", current_language()), _overview)


def _overview() -> maps.MapParts | None:
    bounds = db.session.execute(queries.extent(Level.PROVINCE.value)).one()
    if bounds[0] is None:
        return None
    level = Level.COMMUNE.value
    if db.session.scalar(queries.count_current(level)) > MAX_COMMUNES_DRAWN:
        level = Level.PROVINCE.value
    m = mapping.new_map(bounds)
    layer = _("Xã, phường") if level == Level.COMMUNE.value else _("Tỉnh, thành phố")
    _add_outlines(m, queries.outlines(_tolerance(bounds), level=level), layer)
    return mapping.render(m)


def for_card(card) -> maps.MapParts | None:
    """Around a card's area: its neighbours to tap on (the card itself draws the area, in JS).

    A village is shown among its commune's villages; a commune or province with its own.
    """
    return kept.get(("card", card.area.id, current_language()), lambda: _for_card(card))


def _for_card(card) -> maps.MapParts | None:
    if card.outline is None:
        return None
    minx, miny, maxx, maxy = shape(card.outline).bounds
    if card.area.level == Level.VILLAGE.value:
        # room around a village, so that its neighbours show and can be tapped
        pad = max(maxx - minx, maxy - miny)
        minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    bounds = (minx, miny, maxx, maxy)
    around = card.commune if card.area.level == Level.VILLAGE.value else card.area
    m = mapping.new_map(bounds)
    if around is not None:
        layer = _("Thôn, tổ dân phố") if around.level == Level.COMMUNE.value else _("Xã, phường")
        _add_outlines(m, queries.outlines(_tolerance(bounds), parent_id=around.id), layer)
    return mapping.render(m)


def _tolerance(bounds) -> float:
    return max(bounds[2] - bounds[0], bounds[3] - bounds[1]) / PHONE_PIXELS


def _add_outlines(m, query, layer_name: str) -> None:
    features = [
        {"type": "Feature", "geometry": json.loads(text), "properties": {"name": name}}
        for name, text in db.session.execute(query)
    ]
    maps.add_children(m, {"type": "FeatureCollection", "features": features}, layer_name, ["name"])
