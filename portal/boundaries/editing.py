"""Decided changes to village boundaries: edit, split, merge, and revert.

Every change records its decision (number and date) in a BoundaryChange, keeps what it replaced
(an AreaVersion for an edit, the ended areas for a split or merge), and carries the teams over
or flags them: a team is never silently lost.
"""

from __future__ import annotations

import warnings
from datetime import date

import shapely
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import LineString, shape
from shapely.ops import split as split_polygon
from sqlalchemy import func, or_, select
from sqlalchemy.orm import defer

from geo.checks import area_m2, check_placement
from geo.features import check_wgs84_shape, parse_geojson_geometry
from geo.partition import as_multipolygon
from portal.audit import cli_actor
from portal.boundaries.planning import describe_warning, explain, keep_version
from portal.coverage import services as coverage
from portal.decisions import decision_date
from portal.errors import FormInvalid, NotFound
from portal.extensions import db
from portal.i18n import _
from portal.inputs import too_long
from portal.models import Area, AreaVersion, BoundaryChange, BoundaryFlag, Team, TeamArea
from portal.security import current_account, current_scope
from portal.text import fold, nfc

TOLERANCE_M2 = 100.0  # slivers below this, left by snapping, are trimmed silently


def require_editor() -> None:
    """City admins and commune officers keep boundaries; team leaders and the public do not."""
    current_scope().require("admin", "commune_officer")  # others: 404, as out of scope


def village(area_id: int, *, with_shape: bool = True) -> Area:
    """A current village-level area in the user's scope; without its shape (read only if used)
    for a page that draws the stored simplified one."""
    require_editor()
    query = current_scope().areas(select(Area).where(Area.id == area_id))
    if not with_shape:
        query = query.options(defer(Area.geom))
    area = db.session.scalar(query)
    if area is None:
        raise NotFound(_("Không tìm thấy địa bàn số {id}.", id=area_id))
    if area.level != "village" or area.valid_to is not None:
        raise FormInvalid({"area": _("Chỉ sửa được ranh giới thôn, tổ dân phố đang hiệu lực.")})
    return area


def decision(number: str, when: str) -> tuple[str, date]:
    """The decision behind a change: both number and date are required."""
    number = nfc(number or "")
    errors = too_long({"decision_number": number}, Area)
    if not number:
        errors["decision_number"] = _("Nhập số quyết định.")
    parsed, problem = decision_date(when)
    if problem:
        errors["decision_date"] = problem
    if errors:
        raise FormInvalid(errors)
    return number, parsed


def _actor() -> str:
    account = current_account()
    return account.username if account else cli_actor.get()


def _siblings(area: Area, exclude: set[int]) -> list[tuple[str, shapely.Geometry]]:
    rows = db.session.scalars(
        select(Area).where(
            Area.parent_id == area.parent_id,
            Area.valid_to.is_(None),
            Area.level == "village",
            Area.id.not_in(exclude),
        )
    )
    return [(a.name, to_shape(a.geom)) for a in rows if a.geom is not None]


def areas_by_ids(ids: list[int]) -> list[Area]:
    """The areas of a change, in the change's order, in one query."""
    found = {a.id: a for a in db.session.scalars(select(Area).where(Area.id.in_(ids)))}
    return [found[i] for i in ids]


def _active_team_rows(area_ids: list[int]) -> list[TeamArea]:
    return list(
        db.session.scalars(
            select(TeamArea)
            .where(
                TeamArea.area_id.in_(area_ids),
                TeamArea.active(),
            )
            .order_by(TeamArea.id)
        )
    )


def _end_team_rows(rows: list[TeamArea], on: date) -> dict:
    """End the rows on `on`; what they were, for a revert to put back exactly (team_cover)."""
    snapshot = {
        "rows": [
            {
                "area_id": row.area_id,
                "team_id": row.team_id,
                "commune_id": row.commune_id,
                "valid_from": row.valid_from.isoformat(),
                "valid_to": row.valid_to.isoformat() if row.valid_to else None,
            }
            for row in rows
        ]
    }
    for row in rows:
        # a row that began on the same day never covered a whole day: it goes
        if row.valid_from >= on:
            db.session.delete(row)
        else:
            row.valid_to = on
    db.session.flush()
    return snapshot


def _restore_team_rows(cover: dict, today: date) -> None:
    """Put back the coverage a change ended: the same rows, with their own dates."""
    if "rows" not in cover:
        # recorded before snapshots were kept ({area_id: team_id}): cover again from today
        for area_id, team_id in cover.items():
            _cover(team_id, db.session.get(Team, team_id).commune_id, [int(area_id)], today)
        return
    for kept in cover["rows"]:
        valid_from = date.fromisoformat(kept["valid_from"])
        valid_to = date.fromisoformat(kept["valid_to"]) if kept["valid_to"] else None
        row = db.session.scalar(
            select(TeamArea).where(
                TeamArea.area_id == kept["area_id"],
                TeamArea.team_id == kept["team_id"],
                TeamArea.valid_from == valid_from,
            )
        )
        if row is None:  # it was deleted (it began on the day of the change)
            row = TeamArea(
                team_id=kept["team_id"],
                commune_id=kept["commune_id"],
                area_id=kept["area_id"],
                valid_from=valid_from,
            )
            db.session.add(row)
        row.valid_to = valid_to
    db.session.flush()


def _cover(team_id: int, commune_id: int, area_ids: list[int], since: date) -> None:
    for area_id in area_ids:
        db.session.add(
            TeamArea(team_id=team_id, commune_id=commune_id, area_id=area_id, valid_from=since)
        )
    db.session.flush()


def _checked_shape(geometry: dict | None, field: str) -> shapely.MultiPolygon:
    geom, kind, detail = parse_geojson_geometry(geometry)
    if kind is None:
        geom, problem, _repaired = check_wgs84_shape(geom, 1, None)
        kind, detail = (problem.kind, problem.detail) if problem else (None, "")
    if kind:
        raise FormInvalid({field: explain(kind, detail)})
    return geom


def _fit(area: Area, geom, exclude: set[int], field: str):
    """Refuse a boundary outside its commune or over a neighbour beyond the tolerance, and trim
    what snapping left below it."""
    commune = to_shape(db.session.get(Area, area.parent_id).geom)
    siblings = _siblings(area, exclude)
    issues = [
        i
        for i in check_placement([(1, area.name, geom)], commune, siblings, TOLERANCE_M2)
        if i.kind != "gap"
    ]
    if issues:
        raise FormInvalid({field: " ".join(describe_warning(i) for i in issues)})
    trimmed = geom.intersection(commune)
    if siblings:
        trimmed = trimmed.difference(shapely.union_all([g for _, g in siblings]))
    trimmed = as_multipolygon(shapely.make_valid(trimmed))
    if trimmed.is_empty:
        raise FormInvalid({field: _("Ranh giới mới không còn phần nào trong xã, phường.")})
    return shapely.orient_polygons(trimmed)


def edit_boundary(area_id: int, geometry: dict, number: str, when: str) -> BoundaryChange:
    """A new boundary for a village; the old one is kept as a version."""
    area = village(area_id)
    number, when = decision(number, when)
    geom = _fit(area, _checked_shape(geometry, "geometry"), {area.id}, "geometry")
    change = BoundaryChange(
        kind="edit",
        team_cover={},
        commune_id=area.parent_id,
        decision_number=number,
        decision_date=when,
        actor=_actor(),
        before_ids=[area.id],
        after_ids=[area.id],
    )
    db.session.add(change)
    db.session.flush()
    version = keep_version(area, when, change.id)
    change.version_ids = [version.id]
    area.geom = from_shape(geom, srid=4326)
    area.valid_from = max(when, version.valid_from)
    area.decision_number, area.decision_date = number, when
    area.updated_at = func.now()
    coverage.request_refresh([area.parent_id])
    db.session.commit()
    return change


def _new_village(
    like: Area, name: str, code: str | None, geom, when: date, number: str, share: float
):
    area = Area(
        level="village",
        kind=like.kind,
        parent_id=like.parent_id,
        code=code,
        name=name,
        name_search=fold(name),
        population=round(like.population * share) if like.population is not None else None,
        households=round(like.households * share) if like.households is not None else None,
        geom=from_shape(shapely.orient_polygons(as_multipolygon(geom)), srid=4326),
        valid_from=when,
        decision_number=number,
        decision_date=when,
    )
    db.session.add(area)
    return area


def _end(area: Area, on: date) -> None:
    area.valid_to = max(on, area.valid_from)


# A cut is drawn by hand, a few taps; GEOS splits along each segment: a zigzag of 200,000
# points (a few MB, under the upload cap) held a worker for half a minute, and the preview
# writes nothing, so it can be asked again and again.
MAX_CUT_VERTICES = 1000


def _cut_line(line: dict | None) -> LineString | None:
    """The drawn line, or None unless it is one of two or more finite lon/lat positions;
    FormInvalid when it has more points than a hand draws."""
    coords = line.get("coordinates") if isinstance(line, dict) else None
    if isinstance(coords, list) and len(coords) > MAX_CUT_VERTICES:
        raise FormInvalid(
            {"line": _("Đường cắt có quá nhiều điểm (tối đa {n}).", n=MAX_CUT_VERTICES)}
        )
    try:
        with warnings.catch_warnings():  # NaN is refused below, in words
            warnings.simplefilter("ignore", RuntimeWarning)
            cut = LineString(shape(line)) if line and line.get("type") == "LineString" else None
    # GEOS refuses a one-point line with its own error (a 500 before)
    except (ValueError, TypeError, AttributeError, shapely.errors.ShapelyError):
        cut = None
    if cut is None or cut.is_empty:
        return None
    # json.loads reads NaN and Infinity: GEOS cannot split along them
    lon, lat = shapely.get_coordinates(cut).T
    if not (abs(lon) <= 180).all() or not (abs(lat) <= 90).all():
        return None
    return cut


def split_pieces(area: Area, cut: LineString) -> list:
    """The two parts a line cuts the village into, the northern (A) first; refused in words
    unless there are exactly two."""
    polygon = to_shape(area.geom)
    pieces = [p for p in split_polygon(polygon, cut).geoms if p.area > 0]
    if len(pieces) != 2:
        raise FormInvalid(
            {
                "line": _(
                    "Đường cắt phải cắt ngang thôn thành đúng hai phần (đang là {n}).",
                    n=len(pieces),
                )
            }
        )
    return sorted(pieces, key=lambda p: (-p.centroid.y, p.centroid.x))


def split_preview(area_id: int, line: dict | None) -> list:
    """The parts a split along the line would make (A, B), written nowhere: for the editor."""
    area = village(area_id)
    cut = _cut_line(line)
    if cut is None:
        raise FormInvalid({"line": _("Vẽ một đường cắt ngang thôn.")})
    return split_pieces(area, cut)


def split(
    area_id: int, line: dict, names: tuple[str, str], number: str, when: str
) -> BoundaryChange:
    """Split a village in two along a drawn line; its team covers both parts."""
    area = village(area_id)
    number, when = decision(number, when)
    errors = {}
    names = tuple(nfc(n or "") for n in names)
    errors.update(too_long({"names": max(names, key=len)}, names=Area.name))
    if not all(names):
        errors["names"] = _("Đặt tên cho cả hai phần.")
    cut = _cut_line(line)
    if cut is None:
        errors["line"] = _("Vẽ một đường cắt ngang thôn.")
    if errors:
        raise FormInvalid(errors)
    pieces = split_pieces(area, cut)
    total = sum(area_m2(p) for p in pieces)
    new = [
        _new_village(
            area,
            names[i],
            f"{area.code}.{i + 1}" if area.code else None,
            piece,
            when,
            number,
            area_m2(piece) / total,
        )
        for i, piece in enumerate(pieces)
    ]
    _end(area, when)
    db.session.flush()
    teams = _active_team_rows([area.id])
    carried = [(row.team_id, row.commune_id) for row in teams]
    cover = _end_team_rows(teams, when)
    for team_id, commune_id in carried:  # carried over: the team covers both parts
        _cover(team_id, commune_id, [a.id for a in new], when)
    change = BoundaryChange(
        kind="split",
        commune_id=area.parent_id,
        decision_number=number,
        decision_date=when,
        actor=_actor(),
        before_ids=[area.id],
        after_ids=[a.id for a in new],
        team_cover=cover,
    )
    db.session.add(change)
    coverage.request_refresh([area.parent_id])
    db.session.commit()
    return change


def merge(area_ids: list[int], name: str, number: str, when: str) -> BoundaryChange:
    """Merge villages of one commune; one team carries over, any other is flagged."""
    require_editor()
    number, when = decision(number, when)
    areas = [village(i) for i in dict.fromkeys(area_ids)]
    errors = {}
    if len(areas) < 2:
        errors["area_ids"] = _("Chọn ít nhất hai thôn, tổ dân phố để gộp.")
    elif len({a.parent_id for a in areas}) > 1:
        errors["area_ids"] = _("Chỉ gộp được các thôn, tổ dân phố của cùng một xã, phường.")
    name = nfc(name or "")
    errors.update(too_long({"name": name}, Area))
    if not name:
        errors["name"] = _("Đặt tên cho địa bàn sau khi gộp.")
    if errors:
        raise FormInvalid(errors)
    shapes = [to_shape(a.geom) for a in areas]
    union = (
        shapely.coverage_union_all(shapes)
        if shapely.coverage_is_valid(shapes)
        else shapely.union_all(shapes)
    )
    merged = _new_village(areas[0], name, areas[0].code, union, when, number, 1.0)
    merged.population = (
        sum(a.population or 0 for a in areas) if any(a.population for a in areas) else None
    )
    merged.households = (
        sum(a.households or 0 for a in areas) if any(a.households for a in areas) else None
    )
    for a in areas:
        _end(a, when)
    db.session.flush()
    change = BoundaryChange(
        kind="merge",
        commune_id=areas[0].parent_id,
        decision_number=number,
        decision_date=when,
        actor=_actor(),
        before_ids=[a.id for a in areas],
        after_ids=[merged.id],
    )
    db.session.add(change)
    db.session.flush()
    rows = _active_team_rows([a.id for a in areas])
    teams = list(dict.fromkeys(r.team_id for r in rows))
    change.team_cover = _end_team_rows(rows, when)
    if teams:
        _cover(teams[0], merged.parent_id, [merged.id], when)
    for team_id in teams[1:]:
        team = db.session.get(Team, team_id)
        db.session.add(
            BoundaryFlag(
                change_id=change.id,
                area_id=merged.id,
                team_id=team_id,
                message=_(
                    "{team} phụ trách một phần địa bàn trước khi gộp vào {area}; một địa bàn chỉ có"
                    " một tổ: cần quyết định tổ này phụ trách địa bàn nào.",
                    team=team.name,
                    area=merged.name,
                ),
            )
        )
    coverage.request_refresh([merged.parent_id])
    db.session.commit()
    return change


def revert(change_id: int) -> BoundaryChange:
    """Undo a change, as a new change: exactly the areas, versions and coverage from before.

    Whatever the kind, a change names the areas it made (after_ids), ended (before_ids) and
    changed in place (version_ids: their earlier state), and the coverage rows it ended
    (team_cover). A revert ends what was made, puts back what was changed from its version,
    reopens what was ended and restores the same coverage rows. Nothing is deleted: the state
    it undoes is kept as a version of its own.
    """
    require_editor()
    scope = current_scope()
    query = select(BoundaryChange).where(BoundaryChange.id == change_id)
    if not scope.is_admin:
        query = query.where(BoundaryChange.commune_id == scope.commune_id)
    change = db.session.scalar(query)
    if change is None:
        raise NotFound(_("Không tìm thấy thay đổi số {id}.", id=change_id))
    if change.reverted_by_id or change.kind == "revert":
        raise FormInvalid(
            {"change": _("Thay đổi này đã được hoàn tác, hoặc chính nó là một lần hoàn tác.")}
        )
    later = db.session.scalar(
        select(BoundaryChange.id).where(
            BoundaryChange.id > change.id,
            BoundaryChange.reverted_by_id.is_(None),
            BoundaryChange.kind != "revert",
            or_(
                BoundaryChange.before_ids.overlap(change.after_ids),
                BoundaryChange.after_ids.overlap(change.after_ids),
            ),
        )
    )
    if later:
        raise FormInvalid(
            {
                "change": _(
                    "Địa bàn đã thay đổi tiếp sau đó (thay đổi số {id}):"
                    " hãy hoàn tác thay đổi đó trước.",
                    id=later,
                )
            }
        )
    today = date.today()
    versions = list(
        db.session.scalars(
            select(AreaVersion).where(AreaVersion.id.in_(list(change.version_ids or [])))
        )
    )
    changed = [v.area_id for v in versions]
    made = [i for i in change.after_ids if i not in changed]
    ended = [i for i in change.before_ids if i not in changed]
    undo = BoundaryChange(
        kind="revert",
        commune_id=change.commune_id,
        decision_number=change.decision_number,
        decision_date=today,
        actor=_actor(),
        before_ids=list(change.after_ids),
        after_ids=ended + changed,
        reverts_id=change.id,
    )
    db.session.add(undo)
    db.session.flush()
    # 1. what the change made goes, with the coverage given to it
    undo.team_cover = _end_team_rows(_active_team_rows(made), today)
    for area in areas_by_ids(made):
        _end(area, today)
    db.session.flush()
    # 2. what it changed in place is put back as it was; what it undoes is kept as a version
    kept = []
    for version in versions:
        area = db.session.get(Area, version.area_id)
        kept.append(keep_version(area, today, undo.id).id)
        area.geom = version.geom
        area.name, area.name_en = version.name, version.name_en
        area.name_search = fold(version.name)
        area.population, area.households = version.population, version.households
        area.valid_from = version.valid_from
        area.decision_number, area.decision_date = version.decision_number, version.decision_date
        area.updated_at = func.now()
    undo.version_ids = kept
    # 3. what it ended is current again, covered by the same rows as before
    for area in areas_by_ids(ended):
        area.valid_to = None
    db.session.flush()
    _restore_team_rows(change.team_cover or {}, today)
    for flag in db.session.scalars(select(BoundaryFlag).where(BoundaryFlag.change_id == change.id)):
        flag.resolved_at = func.now()
    change.reverted_by_id = undo.id
    coverage.request_refresh(coverage.communes_of_areas([*change.before_ids, *change.after_ids]))
    db.session.commit()
    return undo
