"""Coverage reports: for a commune (its villages, teams, unmapped land) or the whole city
(aggregated by commune, so the page stays light). The computation is geo.coverage's."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import shapely
from flask import url_for
from shapely import wkb
from sqlalchemy import select

from geo import maps
from geo.coverage import Coverage, Village, analyse
from portal import mapping
from portal.coverage import queries
from portal.downloads import csv_text
from portal.errors import NotFound
from portal.extensions import db
from portal.i18n import _
from portal.models import Area
from portal.security import current_scope
from portal.teams.management import sizing_of_province
from portal.teams.rules import Sizing

KINDS = ("no_team", "understaffed", "overstaffed", "no_leader", "unmapped", "overlap")
KIND_LABELS = {
    "no_team": "Chưa có tổ",
    "understaffed": "Tổ thiếu người",
    "overstaffed": "Tổ quá số người",
    "no_leader": "Tổ chưa có tổ trưởng",
    "unmapped": "Đất chưa thuộc thôn nào",
    "overlap": "Thôn chồng lấn nhau",
}
# a village's status, drawn in the portal's status palette (geo.maps.STATUS_STYLES)
STATUS_STYLES = {
    "covered": maps.STATUS_STYLES["ok"],
    "understaffed": maps.STATUS_STYLES["warning"],
    "no_team": maps.STATUS_STYLES["error"],
    "overlap": maps.STATUS_STYLES["issue"],
    "unmapped": maps.STATUS_STYLES["unmapped"],
}


def kind_label(kind: str) -> str:
    return _(KIND_LABELS[kind])


@dataclass
class Problem:
    kind: str
    commune: str
    label: str
    population: int | None
    area_m2: float | None
    bounds: tuple[float, float, float, float]
    url: str | None = None

    @property
    def kind_label(self) -> str:
        return kind_label(self.kind)


@dataclass
class CommuneReport:
    commune: Area
    coverage: Coverage
    problems: list[Problem]
    statuses: dict[int, str]  # village id -> status
    shapes: dict[int, tuple[str, object]]  # village id -> (name, shape)


@dataclass
class Report:
    communes: list[CommuneReport]
    problems: list[Problem] = field(default_factory=list)
    city: bool = False

    def count(self, kind: str) -> int:
        return sum(1 for p in self.problems if p.kind == kind)


def require_planner() -> None:
    """Coverage is the planners' view: city admins and commune officers."""
    current_scope().require("admin", "commune_officer")


def _communes(commune_id: int | None) -> list[Area]:
    scope = current_scope()
    base = scope.areas(select(Area))
    rows = list(db.session.scalars(queries.communes([commune_id] if commune_id else None, base)))
    if commune_id and not rows:
        raise NotFound(_("Không tìm thấy địa bàn số {id}.", id=commune_id))
    return rows


def report(commune_id: int | None = None) -> Report:
    """Coverage of one commune, or of every commune in scope (the city view)."""
    communes = _communes(commune_id)
    ids = [c.id for c in communes]
    outlines = {i: wkb.loads(g) for i, g in db.session.execute(queries.communes_geometry(ids))}
    villages: dict[int, list] = {i: [] for i in ids}
    for row in db.session.execute(queries.villages(ids)):
        villages[row[1]].append(row)
    teams = {row[0]: row for row in db.session.execute(queries.teams(ids))}
    sizing = sizing_of_province(communes[0].parent_id if communes else None)
    reports = [_commune_report(c, outlines[c.id], villages[c.id], teams, sizing) for c in communes]
    problems = [p for r in reports for p in r.problems]
    # the largest population first; land without people after, the largest first
    problems.sort(key=lambda p: (-(p.population or 0), -(p.area_m2 or 0)))
    return Report(reports, problems, city=commune_id is None)


def _commune_report(commune: Area, outline, rows, teams: dict, sizing: Sizing) -> CommuneReport:
    shapes = {row[0]: (row[2], wkb.loads(row[3])) for row in rows}
    people = {row[0]: row[4] for row in rows}
    coverage = analyse(
        outline, [Village(row[0], shapes[row[0]][1], row[4], row[5]) for row in rows]
    )
    statuses = {row[0]: "covered" for row in rows}
    problems: list[Problem] = []

    def add(kind, label, population, area, shape, url=None):
        problems.append(Problem(kind, commune.name, label, population, area, shape.bounds, url))

    covered_by: dict[int, list[int]] = {}
    for row in rows:
        if row[5] is None:
            statuses[row[0]] = "no_team"
            add("no_team", row[2], row[4], None, shapes[row[0]][1], _area_url(row[0]))
        else:
            covered_by.setdefault(row[5], []).append(row[0])
    for team_id, area_ids in covered_by.items():
        team = teams.get(team_id)
        if team is None:
            continue
        population = sum(people[i] or 0 for i in area_ids)
        shape = shapely.union_all([shapes[i][1] for i in area_ids])
        kinds = []
        size_problem = sizing.size_problem(team[3], population)
        if size_problem:
            kinds.append(size_problem)
        if team[4] == 0:
            kinds.append("no_leader")
        for kind in kinds:
            label = _("{team} ({n} người)", team=team[2], n=team[3])
            add(kind, label, population, None, shape, url_for("teams.show", team_id=team_id))
        if kinds:
            for i in area_ids:
                statuses[i] = "understaffed"
    for piece in coverage.overlaps:
        names = " / ".join(shapes[i][0] for i in piece.ids)
        add("overlap", names, None, piece.area_m2, piece.geom)
        for i in piece.ids:
            statuses[i] = "overlap"
    for piece in coverage.unmapped:
        add("unmapped", _("Đất chưa thuộc thôn nào"), None, piece.area_m2, piece.geom)
    return CommuneReport(commune, coverage, problems, statuses, shapes)


def _area_url(area_id: int) -> str:
    return url_for("areas.show", area_id=area_id)


def filtered(result: Report, kind: str = "", commune_id: int | None = None) -> list[Problem]:
    names = {r.commune.id: r.commune.name for r in result.communes}
    return [
        p
        for p in result.problems
        if (not kind or p.kind == kind) and (not commune_id or p.commune == names.get(commune_id))
    ]


def report_map(result: Report) -> maps.MapParts | None:
    """A commune: villages coloured by status and unmapped land. The city: communes coloured by
    their share of villages with a team (aggregated, so the page stays light)."""
    if not result.communes:
        return None
    outlines = [
        wkb.loads(g)
        for _i, g in db.session.execute(
            queries.communes_geometry([r.commune.id for r in result.communes])
        )
    ]
    bounds = shapely.union_all([shapely.box(*o.bounds) for o in outlines]).bounds
    tolerance = mapping.tolerance(bounds)
    m = mapping.new_map(bounds)
    if result.city:
        features = []
        for r, outline in zip(result.communes, outlines, strict=True):
            share = r.coverage.share_villages
            status = "covered" if share >= 0.99 else "understaffed" if share >= 0.95 else "no_team"
            label = _("{name}: {p}% thôn có tổ", name=r.commune.name, p=round(share * 100, 1))
            features.append(_feature(outline, tolerance, status, label))
        maps.add_status_layer(m, _collection(features), _("Xã, phường"), STATUS_STYLES)
    else:
        r = result.communes[0]
        features = [
            _feature(shape, tolerance, r.statuses[i], name) for i, (name, shape) in r.shapes.items()
        ]
        maps.add_status_layer(m, _collection(features), _("Thôn, tổ dân phố"), STATUS_STYLES)
        unmapped = [
            _feature(p.geom, tolerance / 4, "unmapped", _("Đất chưa thuộc thôn nào"))
            for p in r.coverage.unmapped
        ]
        maps.add_status_layer(m, _collection(unmapped), _("Đất chưa thuộc thôn nào"), STATUS_STYLES)
    return mapping.render(m)


def _feature(shape, tolerance, status, label) -> dict:
    return {
        "type": "Feature",
        "geometry": maps.display_shape(shape, tolerance),
        "properties": {"status": status, "label": label},
    }


def _collection(features) -> dict:
    return {"type": "FeatureCollection", "features": features}


def problems_csv(result: Report) -> str:
    """The problems as CSV; names come from users, so every text cell is spreadsheet-safe."""
    header = ["kind", "commune", "what", "population", "area_m2", "west", "south", "east", "north"]
    return csv_text(
        header,
        (
            [
                p.kind,
                p.commune,
                p.label,
                p.population or "",
                round(p.area_m2, 1) if p.area_m2 is not None else "",
                *[round(v, 6) for v in p.bounds],
            ]
            for p in result.problems
        ),
    )


def gaps_geojson(result: Report) -> str:
    features = [
        {
            "type": "Feature",
            "properties": {
                "commune": r.commune.name,
                "commune_code": r.commune.code,
                "area_m2": round(p.area_m2, 1),
            },
            "geometry": json.loads(
                shapely.to_geojson(shapely.orient_polygons(shapely.set_precision(p.geom, 1e-6)))
            ),
        }
        for r in result.communes
        for p in r.coverage.unmapped
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
