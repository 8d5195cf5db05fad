"""An upload's dry run kept as rows between the dry run and the commit.

A batch's features (import_features) and its problems, warnings and notes (import_problems)
are rows, written once in bulk by save_plan with the counts the pages show on the batch row.
Pages read one page of problems, or the features inside the map's view, never the whole plan;
the commit rebuilds the plan with load_plan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import shapely
from sqlalchemy import Select, case, func, select

from geo import maps
from geo.checks import SpatialIssue
from geo.features import Feature, Problem
from geo.partition import as_multipolygon
from portal.boundaries import planning
from portal.extensions import db
from portal.models import ImportBatch, ImportFeature, ImportProblem, Level
from portal.pagination import Page

# What the map draws is simplified below half a metre once, here: a dense traced ring costs
# its full size only in the commit.
DISPLAY_TOLERANCE = 0.000005
DISPLAY_AS_IS_VERTICES = 256
PROBLEMS_PER_PAGE = 50
MAX_MAP_FEATURES = 1500  # per view; zooming in shows the rest
_FEATURE_COLUMNS = (
    "batch_id",
    "index",
    "code",
    "name",
    "name_en",
    "kind",
    "parent_id",
    "action",
    "area_id",
    "status",
    "geom",
    "repaired",
    "display",
)
_PROBLEM_COLUMNS = (
    "batch_id",
    "position",
    "severity",
    "index",
    "code",
    "kind",
    "detail",
    "lon",
    "lat",
    "area_m2",
    "other",
    "shape",
    "repairable",
    "data",
)


def _ewkb(geoms: list) -> list[str | None]:
    """Hex EWKB (SRID 4326) of each shape, which COPY hands to PostGIS unchanged: exact."""
    array = np.array(geoms, dtype=object)
    present = ~shapely.is_missing(array)
    out: list[str | None] = [None] * len(geoms)
    if present.any():
        tagged = shapely.set_srid(array[present], 4326)
        for i, value in zip(
            np.flatnonzero(present),
            shapely.to_wkb(tagged, hex=True, include_srid=True),
            strict=True,
        ):
            out[i] = value
    return out


def _statuses(plan: planning.Plan) -> dict[int, str]:
    """What the map colours each feature: error, warning, unchanged or ok."""
    troubled = {p.index for p in plan.problems}
    warned = {w.index for w in plan.warnings}
    statuses = {}
    for item in plan.items:
        index = item.feature.index
        status = "error" if index in troubled else "warning" if index in warned else "ok"
        if status == "ok" and item.action == "unchanged":
            status = "unchanged"
        statuses[index] = status
    return statuses


def _problem_rows(batch_id: int, plan: planning.Plan) -> list[dict]:
    """Errors, warnings and notes in the order the dry run lists them (position): errors
    first, then warnings on features, then those on the file as a whole (gaps), then notes."""
    codes = {i.feature.index: i.feature.code for i in plan.items}
    said = [("error", p) for p in plan.problems] + [("warning", w) for w in plan.warnings]
    said.sort(key=lambda s: (s[0] != "error", s[1].index == 0, s[1].index))  # stable
    shapes = _ewkb([w.shape for severity, w in said if severity == "warning"])
    rows, warning_number = [], 0
    for position, (severity, said_of) in enumerate(said, start=1):
        lon, lat = said_of.where if said_of.where else (None, None)
        row = {"batch_id": batch_id, "position": position, "severity": severity}
        row |= {"index": said_of.index, "kind": said_of.kind, "lon": lon, "lat": lat}
        if severity == "error":
            row |= {"code": said_of.code, "detail": said_of.detail or ""}
            row["repairable"] = said_of.repairable
        else:
            row |= {"code": codes.get(said_of.index), "area_m2": said_of.area_m2}
            row |= {"other": said_of.other, "shape": shapes[warning_number]}
            warning_number += 1
        rows.append(row)
    for position, note in enumerate(plan.notes, start=len(rows) + 1):
        rows.append(
            {"batch_id": batch_id, "position": position, "severity": "note", "index": 0}
            | {"kind": str(note.get("kind", "")), "data": json.dumps(note, ensure_ascii=False)}
        )
    return rows


# what a problem row holds when its dict does not say
_PROBLEM_DEFAULTS = {"detail": "", "repairable": False}


def _copy(table: str, columns: tuple[str, ...], rows: list[dict]) -> None:
    """Rows into a table by COPY, in the session's transaction: thousands in milliseconds.
    A column a row does not name is NULL (or its _PROBLEM_DEFAULTS value)."""
    if not rows:
        return
    raw = db.session.connection().connection.driver_connection
    names = ", ".join(f'"{c}"' for c in columns)
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row.get(c, _PROBLEM_DEFAULTS.get(c)) for c in columns])


def save_plan(batch: ImportBatch, plan: planning.Plan) -> None:
    """Write a new batch's dry run: its features and problems as rows, its counts on the batch.

    The batch must have an id (it is flushed here); the caller commits.
    """
    db.session.flush()
    items = plan.items
    geoms = _ewkb([i.feature.geometry for i in items])
    repaired = _ewkb([i.feature.repaired for i in items])
    drawn = [i.feature.geometry or i.feature.repaired for i in items]
    # a shape of a few hundred vertices is drawn as it is; only denser ones are simplified
    display = np.array(drawn, dtype=object)
    dense = shapely.get_num_coordinates(display) > DISPLAY_AS_IS_VERTICES
    displayed = [geoms[n] or repaired[n] for n in range(len(items))]
    if dense.any():
        simple = shapely.simplify(display[dense], DISPLAY_TOLERANCE, preserve_topology=True)
        hexed = _ewkb([as_multipolygon(g) for g in simple])  # GEOS may give a Polygon
        for n, value in zip(np.flatnonzero(dense), hexed, strict=True):
            displayed[n] = value
    statuses = _statuses(plan)
    _copy(
        "import_features",
        _FEATURE_COLUMNS,
        [
            {
                "batch_id": batch.id,
                "index": i.feature.index,
                "code": i.feature.code,
                "name": i.feature.name,
                "name_en": i.feature.name_en,
                "kind": i.kind,
                "parent_id": i.parent_id,
                "action": i.action,
                "area_id": i.area_id,
                "status": statuses[i.feature.index],
                "geom": geoms[n],
                "repaired": repaired[n],
                "display": displayed[n],
            }
            for n, i in enumerate(items)
        ],
    )
    _copy("import_problems", _PROBLEM_COLUMNS, _problem_rows(batch.id, plan))
    actions = [i.action for i in items]
    batch.feature_count = len(items)
    batch.creates = actions.count("create")
    batch.updates = actions.count("update")
    batch.unchanged = actions.count("unchanged")
    batch.blocked = actions.count("blocked")
    batch.usable = len(plan.writable(repairs=True, clean_only=False))
    batch.clean = len(plan.writable(repairs=False, clean_only=True))
    batch.error_count = len(plan.problems)
    batch.warning_count = len(plan.warnings)
    shown = [g for g in drawn if g is not None]
    if shown:
        bounds = shapely.total_bounds(np.array(shown, dtype=object))
        batch.west, batch.south, batch.east, batch.north = (float(v) for v in bounds)


def _shapes(values: list) -> list:
    return list(shapely.from_wkb(np.array(values, dtype=object)))


def load_plan(batch: ImportBatch) -> planning.Plan:
    """The batch's plan rebuilt from its rows: everything a commit needs (the features'
    properties from the file are not kept)."""
    features = db.session.execute(
        select(
            ImportFeature.index,
            ImportFeature.code,
            ImportFeature.name,
            ImportFeature.name_en,
            ImportFeature.kind,
            ImportFeature.parent_id,
            ImportFeature.action,
            ImportFeature.area_id,
            func.ST_AsBinary(ImportFeature.geom),
            func.ST_AsBinary(ImportFeature.repaired),
        )
        .where(ImportFeature.batch_id == batch.id)
        .order_by(ImportFeature.index)
    ).all()
    geoms = _shapes([bytes(r[8]) if r[8] is not None else None for r in features])
    repaired = _shapes([bytes(r[9]) if r[9] is not None else None for r in features])
    items = [
        planning.PlannedFeature(
            Feature(r.index, r.code, r.name, r.name_en, {}, geoms[n], repaired[n]),
            r.kind,
            r.parent_id,
            r.action,
            r.area_id,
        )
        for n, r in enumerate(features)
    ]
    said = db.session.execute(
        select(
            ImportProblem.severity,
            ImportProblem.index,
            ImportProblem.code,
            ImportProblem.kind,
            ImportProblem.detail,
            ImportProblem.lon,
            ImportProblem.lat,
            ImportProblem.area_m2,
            ImportProblem.other,
            func.ST_AsBinary(ImportProblem.shape).label("shape"),
            ImportProblem.repairable,
            ImportProblem.data,
        )
        .where(ImportProblem.batch_id == batch.id)
        # as the dry run sorted them: by feature, in the order found
        .order_by(ImportProblem.index, ImportProblem.position)
    ).all()
    shapes = _shapes([bytes(r.shape) if r.shape is not None else None for r in said])
    problems, warnings, notes = [], [], []
    for n, r in enumerate(said):
        where = (r.lon, r.lat) if r.lon is not None else None
        if r.severity == "error":
            problems.append(Problem(r.index, r.code, r.kind, r.detail, where, r.repairable))
        elif r.severity == "warning":
            warnings.append(SpatialIssue(r.index, r.kind, r.area_m2, where, r.other, shapes[n]))
    for r in db.session.execute(
        select(ImportProblem.data)
        .where(ImportProblem.batch_id == batch.id, ImportProblem.severity == "note")
        .order_by(ImportProblem.position)
    ):
        notes.append(r.data)
    return planning.Plan(Level(batch.level), batch.source_crs, items, problems, warnings, notes)


# --- what the pages read -----------------------------------------------------------------------


@dataclass
class Row:
    """One line of the dry run's table of problems."""

    index: int
    code: str | None
    name: str | None
    severity: str
    text: str
    where: tuple[float, float] | None
    repairable: bool = False


def counts(batch: ImportBatch) -> dict[str, int]:
    """Features by what would happen to them, from the batch row (none counted here)."""
    found = {
        "create": batch.creates,
        "update": batch.updates,
        "unchanged": batch.unchanged,
        "blocked": batch.blocked,
    }
    return {action: n for action, n in found.items() if n}


def problems_page(batch: ImportBatch, page: int = 1) -> Page:
    """One page of errors and warnings (errors first), each with its feature's name."""
    page = max(page, 1)
    rows = db.session.execute(
        select(
            ImportProblem.index,
            ImportProblem.code,
            ImportFeature.name,
            ImportProblem.severity,
            ImportProblem.kind,
            ImportProblem.detail,
            ImportProblem.lon,
            ImportProblem.lat,
            ImportProblem.area_m2,
            ImportProblem.other,
            ImportProblem.repairable,
        )
        .outerjoin(
            ImportFeature,
            (ImportFeature.batch_id == ImportProblem.batch_id)
            & (ImportFeature.index == ImportProblem.index),
        )
        .where(ImportProblem.batch_id == batch.id, ImportProblem.severity != "note")
        .order_by(ImportProblem.position)
        .limit(PROBLEMS_PER_PAGE)
        .offset((page - 1) * PROBLEMS_PER_PAGE)
    ).all()
    items = []
    for r in rows:
        where = (r.lon, r.lat) if r.lon is not None else None
        if r.severity == "error":
            text = planning.describe(Problem(r.index, r.code, r.kind, r.detail, where))
        else:
            text = planning.describe_warning(
                SpatialIssue(r.index, r.kind, r.area_m2, where, r.other)
            )
        items.append(Row(r.index, r.code, r.name, r.severity, text, where, r.repairable))
    return Page(items, page, PROBLEMS_PER_PAGE, batch.error_count + batch.warning_count)


def notes(batch: ImportBatch) -> list[str]:
    """What the planner should know about the file as a whole, as sentences."""
    rows = db.session.scalars(
        select(ImportProblem.data)
        .where(ImportProblem.batch_id == batch.id, ImportProblem.severity == "note")
        .order_by(ImportProblem.position)
    )
    return [planning.describe_note(data) for data in rows]


def bounds(batch: ImportBatch) -> tuple[float, float, float, float] | None:
    if batch.west is None:
        return None
    return batch.west, batch.south, batch.east, batch.north


# map statuses first drawn when a view holds more than the cap: what needs looking at
_STATUS_ORDER = case(
    {"error": 0, "warning": 1, "ok": 2, "unchanged": 3}, value=ImportFeature.status, else_=4
)


def _in_view(batch_id: int, box: tuple[float, float, float, float], tolerance: float) -> Select:
    envelope = func.ST_MakeEnvelope(*box, 4326)
    drawn = func.ST_AsGeoJSON(func.ST_Simplify(ImportFeature.display, tolerance, True), 6)
    return (
        select(
            ImportFeature.index,
            ImportFeature.code,
            ImportFeature.name,
            ImportFeature.status,
            drawn.label("geometry"),
        )
        .where(ImportFeature.batch_id == batch_id, ImportFeature.display.op("&&")(envelope))
        .order_by(_STATUS_ORDER, ImportFeature.index)
    )


def _issues_in_view(batch_id: int, box, tolerance: float) -> Select:
    envelope = func.ST_MakeEnvelope(*box, 4326)
    drawn = func.ST_AsGeoJSON(func.ST_Simplify(ImportProblem.shape, tolerance / 4, True), 6)
    return (
        select(
            ImportProblem.index,
            ImportProblem.kind,
            ImportProblem.lon,
            ImportProblem.lat,
            ImportProblem.area_m2,
            ImportProblem.other,
            drawn.label("geometry"),
        )
        .where(
            ImportProblem.batch_id == batch_id,
            ImportProblem.severity == "warning",
            ImportProblem.shape.op("&&")(envelope),
            func.ST_Dimension(ImportProblem.shape) == 2,
        )
        .order_by(ImportProblem.position)
    )


def features_in_view(
    batch: ImportBatch,
    box: tuple[float, float, float, float],
    tolerance: float,
    limit: int = MAX_MAP_FEATURES,
) -> str:
    """The features (and the places warnings point at) whose boxes meet the view, simplified
    to about a pixel of it, errors first, at most `limit`; every label is map text
    (geo.maps.text). A GeoJSON FeatureCollection, as text, with "truncated" when the view held
    more: the geometries PostGIS writes go into it as they are, never parsed here."""
    features = []
    rows = db.session.execute(_in_view(batch.id, box, tolerance).limit(limit + 1)).all()
    for r in rows[:limit]:
        label = f"#{r.index} {r.name or ''} ({r.code or '—'})"
        features.append(_feature(r.geometry, r.status, label))
    room = max(limit - len(features), 0)
    issues = db.session.execute(_issues_in_view(batch.id, box, tolerance).limit(room + 1)).all()
    for r in issues[:room]:
        where = (r.lon, r.lat) if r.lon is not None else (0.0, 0.0)
        issue = SpatialIssue(r.index, r.kind, r.area_m2, where, r.other)
        features.append(_feature(r.geometry, "issue", planning.describe_warning(issue)))
    truncated = "true" if len(rows) > limit or len(issues) > room else "false"
    return (
        '{"type": "FeatureCollection", "truncated": '
        + truncated
        + ', "features": ['
        + ", ".join(features)
        + "]}"
    )


def _feature(geometry: str | None, status: str, label: str) -> str:
    # the one escape of map text: Leaflet puts a tooltip in as HTML
    properties = json.dumps({"status": status, "label": maps.text(label)}, ensure_ascii=False)
    return f'{{"type": "Feature", "geometry": {geometry or "null"}, "properties": {properties}}}'


def reaches_outside(batch: ImportBatch, commune_id: int) -> bool:
    """Whether a feature the commit could write lies in another commune: the check a commit
    request makes on the rows, without loading the plan (the job checks the plan again)."""
    blocking = (
        select(ImportProblem.id)
        .where(
            ImportProblem.batch_id == batch.id,
            ImportProblem.index == ImportFeature.index,
            ImportProblem.severity == "error",
            ImportProblem.kind != "invalid_geometry",  # repaired, it may be written
        )
        .exists()
    )
    return bool(
        db.session.scalar(
            select(
                select(ImportFeature.index)
                .where(
                    ImportFeature.batch_id == batch.id,
                    ImportFeature.action != "blocked",
                    ImportFeature.parent_id.is_distinct_from(commune_id),
                    ~blocking,
                )
                .exists()
            )
        )
    )
