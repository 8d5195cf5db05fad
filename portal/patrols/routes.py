"""Patrol routes: drawn by a team's leader (or its commune's officer) inside the team's villages,
checked against the province's tolerance, kept in versions, retired and restored.

A route is saved only when no point of it lies farther outside the team's villages than the
tolerance (geo.routes.check_route); the editor asks the same check as one draws, and the answer
names each stretch outside, how far it goes and whose village it runs through.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import func, select
from sqlalchemy.orm import defer

from geo import maps
from geo.routes import RouteCheck, RouteProblem, Village, check_route, parse_line
from portal import audit, mapping
from portal.audit import cli_actor
from portal.errors import FormInvalid, NotFound
from portal.extensions import db
from portal.i18n import N_, _, number, thousands
from portal.inputs import too_long
from portal.models import Area, Patrol, PatrolRoute, PatrolRules, RouteVersion, Team
from portal.pagination import Page, paginate
from portal.patrols import queries
from portal.security import current_account, current_scope
from portal.teams import management
from portal.teams import services as team_services
from portal.text import nfc

DEFAULT_TOLERANCE_M = 50.0
ROUTE_COLOURS = ("#e63946", "#1d3557", "#2a9d8f", "#f4a261", "#6a4c93", "#0077b6")

PROBLEMS = {
    "missing": N_("Vẽ tuyến trên bản đồ trước khi lưu."),
    "wrong_type": N_("Tuyến phải là một đường (một hay nhiều đoạn), không phải {detail}."),
    "malformed": N_("Đoạn {detail} của tuyến có tọa độ không đọc được."),
    "too_short": N_("Đoạn {detail} của tuyến cần ít nhất hai điểm khác nhau."),
    "too_many_vertices": N_("Tuyến có quá nhiều điểm: tối đa {detail}."),
    "outside_vietnam": N_("Tuyến nằm ngoài lãnh thổ Việt Nam (điểm đầu {detail})."),
    "too_long": N_("Tuyến dài quá {detail} km: hãy chia thành nhiều tuyến."),
}


def actor() -> str:
    account = current_account()
    return account.username if account else cli_actor.get()


def tolerance_for(team: Team) -> float:
    """The province's tolerance for routes leaving the team's villages (default 50 m)."""
    province_id = db.session.scalar(select(Area.parent_id).where(Area.id == team.commune_id))
    value = db.session.scalar(
        select(PatrolRules.route_tolerance_m).where(PatrolRules.province_id == province_id)
    )
    return DEFAULT_TOLERANCE_M if value is None else value


def writable_team(team_id: int) -> Team:
    """A team whose routes and patrols the user keeps: a leader their own, an officer their
    commune's, the admin any; anyone else, or another team's id, finds nothing (404)."""
    return management.managed_team(team_id)


def route_of(route_id: int) -> PatrolRoute:
    route = db.session.scalar(queries.route(current_scope(), route_id))
    if route is None:
        raise NotFound(_("Không tìm thấy tuyến tuần tra số {id}.", id=route_id))
    return route


def _villages(team: Team) -> list[Village]:
    return [
        Village(a.id, a.name, to_shape(a.geom))
        for a in db.session.scalars(queries.team_villages(team.id, shapes=True))
        if a.geom is not None
    ]


def _others(team: Team, line) -> list[Village]:
    west, south, east, north = line.bounds
    pad = 0.01  # about a kilometre: the villages a stretch outside could reach
    box = (west - pad, south - pad, east + pad, north + pad)
    return [
        Village(a.id, a.name, to_shape(a.geom))
        for a in db.session.scalars(queries.villages_near(team.commune_id, team.id, box))
        if a.geom is not None
    ]


def _line(geometry: dict | None):
    try:
        return parse_line(geometry)
    except RouteProblem as problem:
        raise FormInvalid(
            {"geometry": _(PROBLEMS.get(problem.code, problem.code), detail=problem.detail)}
        ) from None


def metres(value: float) -> str:
    """A distance as people say it: 830 m, 2,4 km (2.4 km in English)."""
    if value < 1000:
        return f"{thousands(round(value))} m"
    return f"{number(value / 1000, 1)} km"


def explain(check: RouteCheck) -> str:
    """What is wrong with a route that leaves its villages by more than the tolerance."""
    worst = check.refused
    parts = []
    for excursion in worst[:3]:
        where = _(" (qua {names})", names=", ".join(excursion.through)) if excursion.through else ""
        parts.append(
            _(
                "một đoạn dài {length} ra ngoài {far}{where}",
                length=metres(excursion.length_m),
                far=metres(excursion.farthest_m),
                where=where,
            )
        )
    return _(
        "Tuyến ra ngoài địa bàn của tổ quá {tolerance}: {parts}. Sửa các đoạn tô đỏ rồi lưu lại.",
        tolerance=metres(check.tolerance_m),
        parts="; ".join(parts),
    )


def check(team_id: int, geometry: dict | None) -> tuple[Team, object, RouteCheck]:
    """A drawn line checked against the team's villages (no change made)."""
    team = writable_team(team_id)
    line = _line(geometry)
    return team, line, check_route(line, _villages(team), tolerance_for(team), _others(team, line))


def check_answer(team_id: int, geometry: dict | None) -> dict:
    """The editor's live check: figures, a message, and the stretches outside as GeoJSON whose
    labels are map text (escaped here, as every text that reaches a map)."""
    try:
        result = check(team_id, geometry)[2]
    except FormInvalid as exc:
        return {"ok": False, "message": exc.fields.get("geometry", ""), "outside": None}
    features = [
        {
            "type": "Feature",
            "geometry": maps.display_shape(e.line, 0),
            "properties": {
                "label": maps.text(
                    _("ra ngoài {far}", far=metres(e.farthest_m))
                    + (f" · {', '.join(e.through)}" if e.through else "")
                ),
                "refused": e.farthest_m > result.tolerance_m,
            },
        }
        for e in result.excursions
        if e.length_m >= 1.0
    ]
    if result.ok:
        message = _(
            "Tuyến dài {length}, nằm trong địa bàn của tổ (sai lệch cho phép {tolerance}).",
            length=metres(result.length_m),
            tolerance=metres(result.tolerance_m),
        )
    else:
        message = explain(result)
    return {
        "ok": result.ok,
        "length": metres(result.length_m),
        "outside": metres(result.outside_m),
        "message": message,
        "excursions": {"type": "FeatureCollection", "features": features},
    }


def _name(name: str, team: Team, route_id: int | None) -> str:
    name = nfc(name or "").strip()
    errors = too_long({"name": name}, PatrolRoute)
    if not name:
        errors["name"] = _("Đặt tên cho tuyến.")
    elif db.session.scalar(
        select(func.count())
        .select_from(PatrolRoute)
        .where(
            PatrolRoute.team_id == team.id,
            PatrolRoute.retired_at.is_(None),
            func.lower(PatrolRoute.name) == name.lower(),
            PatrolRoute.id != (route_id or 0),
        )
    ):
        errors["name"] = _("Tổ đã có tuyến tên “{name}”.", name=name)
    if errors:
        raise FormInvalid(errors)
    return name


def save_route(
    team_id: int, name: str, geometry: dict | None, route_id: int | None = None
) -> PatrolRoute:
    """Create a route, or give an existing one a new version (and name); refused, with where
    and by how much, when it leaves the team's villages by more than the tolerance."""
    team = writable_team(team_id)
    route = None
    if route_id is not None:
        route = route_of(route_id)
        if route.team_id != team.id:
            raise NotFound(_("Không tìm thấy tuyến tuần tra số {id}.", id=route_id))
        if route.retired_at is not None:
            raise FormInvalid({"route": _("Tuyến đã thôi dùng: khôi phục trước khi sửa.")})
    errors: dict[str, str] = {}
    try:
        name = _name(name, team, route_id)
    except FormInvalid as exc:
        errors.update(exc.fields)
    try:
        team, line, result = check(team.id, geometry)
    except FormInvalid as exc:
        errors.update(exc.fields)
        result = None
    if result is not None and not result.ok:
        errors["geometry"] = explain(result)
    if errors:
        raise FormInvalid(errors)
    if route is None:
        route = PatrolRoute(team_id=team.id, commune_id=team.commune_id, name=name)
        db.session.add(route)
        db.session.flush()
        number = 1
    else:
        route.name = name
        number = 1 + (
            db.session.scalar(
                select(func.max(RouteVersion.number)).where(RouteVersion.route_id == route.id)
            )
            or 0
        )
    version = RouteVersion(
        route_id=route.id,
        number=number,
        geom=from_shape(line, srid=4326),
        length_m=result.length_m,
        outside_m=result.outside_m,
        area_ids=result.area_ids,
        created_by=actor(),
    )
    db.session.add(version)
    db.session.flush()
    route.current_version_id = version.id
    db.session.commit()
    return route


def set_retired(route_id: int, retired: bool) -> PatrolRoute:
    """Retire a route (it is kept, with its versions and patrols), or bring it back."""
    route = route_of(route_id)
    writable_team(route.team_id)
    if retired and route.retired_at is None:
        route.retired_at = datetime.now(UTC)
    elif not retired and route.retired_at is not None:
        _name(route.name, db.session.get(Team, route.team_id), route.id)  # no clash on return
        route.retired_at = None
    db.session.commit()
    return route


def restore_version(route_id: int, version_id: int) -> PatrolRoute:
    """Make an earlier version current again, as a new version (the history keeps both)."""
    route = route_of(route_id)
    old = db.session.scalar(
        select(RouteVersion).where(RouteVersion.id == version_id, RouteVersion.route_id == route.id)
    )
    if old is None:
        raise NotFound(_("Không tìm thấy phiên bản tuyến số {id}.", id=version_id))
    geometry = json.loads(db.session.scalar(select(func.ST_AsGeoJSON(old.geom, 15))))
    return save_route(route.team_id, route.name, geometry, route.id)


# --- pages ------------------------------------------------------------------------------------


@dataclass
class EditorView:
    team: Team
    route: PatrolRoute | None
    map: maps.MapParts
    geometry: dict | None  # the current line, for the editor to load
    tolerance_m: float


def bounds_of(features: list[dict]) -> tuple[float, float, float, float] | None:
    import shapely.geometry

    shapes = [shapely.geometry.shape(f["geometry"]) for f in features if f.get("geometry")]
    if not shapes:
        return None
    xs = [s.bounds for s in shapes]
    return (
        min(b[0] for b in xs),
        min(b[1] for b in xs),
        max(b[2] for b in xs),
        max(b[3] for b in xs),
    )


def village_features(team: Team, tolerance: float) -> list[dict]:
    villages = queries.team_villages(team.id, shapes=False).with_only_columns(Area.id)  # ids only
    rows = db.session.execute(queries.display_shapes(villages, tolerance)).all()
    return [
        {
            "type": "Feature",
            "geometry": json.loads(row.geojson),
            "properties": {"name": row.name},
        }
        for row in rows
    ]


def editor_view(team_id: int, route_id: int | None = None) -> EditorView:
    team = writable_team(team_id)
    route = None
    geometry = None
    if route_id is not None:
        route = route_of(route_id)
        if route.team_id != team.id:
            raise NotFound(_("Không tìm thấy tuyến tuần tra số {id}.", id=route_id))
        geometry = json.loads(
            db.session.scalar(
                select(func.ST_AsGeoJSON(RouteVersion.geom, 7)).where(
                    RouteVersion.id == route.current_version_id
                )
            )
        )
    features = village_features(team, 0.00001)
    bounds = bounds_of(features) or commune_bounds(team)
    m = mapping.new_map(bounds)
    maps.add_status_layer(
        m,
        {"type": "FeatureCollection", "features": _neighbours(team, bounds)},
        _("Thôn, tổ dân phố lân cận"),
        maps.STATUS_STYLES,
    )
    maps.add_children(
        m, {"type": "FeatureCollection", "features": features}, _("Địa bàn của tổ"), ["name"]
    )
    return EditorView(
        team, route, mapping.render(m, extras=("geoman",)), geometry, tolerance_for(team)
    )


def _neighbours(team: Team, bounds) -> list[dict]:
    """The other villages around the team's, in grey with their names: where a route leaving
    the team's villages would go."""
    west, south, east, north = bounds
    pad = max(east - west, north - south) * 0.5
    near = queries.villages_near(
        team.commune_id, team.id, (west - pad, south - pad, east + pad, north + pad)
    ).with_only_columns(Area.id)
    rows = db.session.execute(queries.display_shapes(near, 0.00002)).all()
    return [
        {
            "type": "Feature",
            "geometry": json.loads(row.geojson),
            "properties": {"status": "unchanged", "label": row.name},
        }
        for row in rows
    ]


def commune_bounds(team: Team) -> tuple[float, float, float, float]:
    box = db.session.execute(
        select(
            func.ST_XMin(Area.geom),
            func.ST_YMin(Area.geom),
            func.ST_XMax(Area.geom),
            func.ST_YMax(Area.geom),
        ).where(Area.id == team.commune_id)
    ).one()
    return tuple(box)


def line_geometries(version_ids: list[int]) -> dict[int, dict]:
    """Route versions' lines as GeoJSON geometries, by version id."""
    rows = db.session.execute(queries.version_lines(version_ids)).all()
    return {version_id: json.loads(text) for version_id, text in rows}


def can_write(team: Team) -> bool:
    """Whether the user keeps this team's routes and patrols (a page shows its buttons)."""
    try:
        writable_team(team.id)
    except NotFound:
        return False
    return True


@dataclass
class RoutesView:
    team: Team
    routes: list  # (PatrolRoute, RouteVersion)
    can_write: bool


def routes_view(team_id: int) -> RoutesView:
    """A team's routes, retired ones last."""
    team = team_services.get_team(team_id)
    rows = db.session.execute(queries.routes(current_scope(), team.id, retired=True)).all()
    return RoutesView(team, [(r, v) for r, v in rows], can_write(team))


@dataclass
class RouteView:
    route: PatrolRoute
    team: Team
    versions: list[RouteVersion]
    map: maps.MapParts
    history: Page
    can_write: bool
    patrols: int  # patrols planned on any of its versions


def route_view(route_id: int, history_page: int = 1) -> RouteView:
    route = route_of(route_id)
    team = db.session.get(Team, route.team_id)
    versions = list(
        db.session.scalars(queries.route_versions(route.id).options(defer(RouteVersion.geom)))
    )
    features = village_features(team, 0.00002)
    lines = []
    shown = versions[:2]  # the current line, and the one before it for comparison
    geojson = line_geometries([v.id for v in shown])
    for version in shown:
        geometry = geojson[version.id]
        current = version.id == route.current_version_id
        lines.append(
            (
                "route" if current else "track",
                _("Phiên bản {n}", n=version.number) + (" " + _("(đang dùng)") if current else ""),
                geometry,
            )
        )
    bounds = bounds_of(features + [{"geometry": g} for _k, _n, g in lines]) or commune_bounds(team)
    m = mapping.new_map(bounds)
    maps.add_children(
        m, {"type": "FeatureCollection", "features": features}, _("Địa bàn của tổ"), ["name"]
    )
    for kind, name, geometry in reversed(lines):
        maps.add_line(
            m,
            {"type": "Feature", "geometry": geometry, "properties": {"label": name}},
            name,
            maps.LINE_STYLES[kind],
        )
    patrols = db.session.scalar(
        select(func.count())
        .select_from(Patrol)
        .where(Patrol.route_version_id.in_([v.id for v in versions]))
    )
    return RouteView(
        route,
        team,
        versions,
        mapping.render(m),
        paginate(audit.history("route", route.id), history_page),
        can_write(team),
        patrols or 0,
    )
