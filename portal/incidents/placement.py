"""Where a tip or an incident belongs: its village, the team covering that village today, and its
commune, found from a point (the map's pin or the phone's location) or a chosen village."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from portal.extensions import db
from portal.i18n import _
from portal.lookup import queries as lookup_queries
from portal.models import Area, Level, TeamArea


@dataclass(frozen=True)
class Placement:
    lat: float
    lon: float
    commune_id: int
    commune_name: str
    village_id: int | None  # None: inside the commune but in no village we have
    village_name: str | None
    team_id: int | None


class OutsideService(Exception):
    """The point lies in no commune the portal serves."""


def at_point(lat: float, lon: float) -> Placement:
    """The village (the lowest id where a point lies on a border), team and commune at a point."""
    db.session.execute(lookup_queries.SET_GENERIC_PLANS)
    hits = db.session.execute(lookup_queries.areas_at(lon, lat)).all()
    village = next((h for h in hits if h.level == Level.VILLAGE.value), None)
    if village is not None:
        return _placed(village.id, lat, lon)
    commune = next((h for h in hits if h.level == Level.COMMUNE.value), None)
    if commune is None:
        raise OutsideService(_("Điểm này nằm ngoài các xã, phường mà cổng phục vụ."))
    return Placement(lat, lon, commune.id, commune.name, None, None, None)


def in_village(village_id: int) -> Placement:
    """A point inside a chosen current village (its point on surface), and its team and commune."""
    row = db.session.execute(
        select(
            func.ST_Y(func.ST_PointOnSurface(Area.geom)),
            func.ST_X(func.ST_PointOnSurface(Area.geom)),
        ).where(Area.id == village_id, Area.level == Level.VILLAGE.value, Area.valid_to.is_(None))
    ).one_or_none()
    if row is None:
        raise OutsideService(_("Không có thôn, tổ dân phố này."))
    return _placed(village_id, row[0], row[1])


def _placed(village_id: int, lat: float, lon: float) -> Placement:
    commune = Area.__table__.alias("commune")
    team = (
        select(TeamArea.team_id)
        .where(TeamArea.area_id == Area.id, TeamArea.active())
        .order_by(TeamArea.team_id)
        .limit(1)
        .scalar_subquery()
    )
    row = db.session.execute(
        select(Area.name, commune.c.id, commune.c.name, team)
        .join(commune, commune.c.id == Area.parent_id)
        .where(Area.id == village_id)
    ).one()
    return Placement(lat, lon, row[1], row[2], village_id, row[0], row[3])
