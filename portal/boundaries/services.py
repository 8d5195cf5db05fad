"""Boundary work on the web: uploads reviewed before they are committed, changes and exports."""

from __future__ import annotations

import json
from dataclasses import dataclass

import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import load_only

from geo import maps
from geo.crs import CHOICES, Choice
from portal import jobs, mapping
from portal.boundaries import batches, editing
from portal.errors import FormInvalid, NotFound
from portal.extensions import db
from portal.i18n import _
from portal.models import (
    Area,
    AreaShape,
    AreaVersion,
    BoundaryChange,
    BoundaryFlag,
    ImportBatch,
    Job,
    Level,
)
from portal.pagination import Page, paginate
from portal.security import current_scope

UPLOAD_LEVELS = {"commune": Level.COMMUNE, "village": Level.VILLAGE}


def crs_choices() -> list[Choice]:
    """The coordinate systems a planner may choose, their words in the reader's language."""
    return [Choice(c.key, crs_label(c)) for c in CHOICES]


def crs_label(choice: Choice) -> str:
    """geo.crs names its choices in Vietnamese (geo/ knows no language): the words here, the
    zone, meridian and province kept from its label."""
    if choice.key == "auto":
        return _("Theo tệp (WGS 84 nếu tệp không ghi)")
    if choice.key == "EPSG:4326":
        return _("WGS 84 (kinh độ, vĩ độ)")
    if choice.key.startswith("TM3:"):
        meridian = choice.label.split("kinh tuyến trục ", 1)[-1]  # 105°00' (Hà Nội)
        return _("VN-2000 / TM-3, kinh tuyến trục {meridian}", meridian=meridian)
    if " múi " in choice.label:
        zone = choice.label.split(" múi ", 1)[-1]  # 48N (EPSG:3405)
        return _("VN-2000 / UTM múi {zone}", zone=zone)
    return choice.label


def communes() -> list[Area]:
    """The communes a planner may upload for or export (names only: no shapes)."""
    return list(
        db.session.scalars(
            current_scope()
            .areas(select(Area).where(Area.level == "commune", Area.valid_to.is_(None)))
            .options(load_only(Area.id, Area.name))
            .order_by(Area.name)
        )
    )


def _batches() -> Select:
    scope = current_scope()
    query = select(ImportBatch)
    if not scope.is_admin:
        query = query.where(
            or_(
                ImportBatch.parent_id == scope.commune_id,
                ImportBatch.created_by == scope.account_id,
            )
        )
    return query.order_by(ImportBatch.id.desc())


def _changes() -> Select:
    scope = current_scope()
    query = select(BoundaryChange)
    if not scope.is_admin:
        query = query.where(BoundaryChange.commune_id == scope.commune_id)
    return query.order_by(BoundaryChange.id.desc())


def hub(page: int = 1, changes_page: int = 1) -> tuple[Page, Page, Page]:
    """The boundaries page: uploads and changes (a page of each) and the open flags (the first
    page): only the columns the lists show, never a batch's features or problems."""
    editing.require_editor()
    listed = _batches().options(
        load_only(
            ImportBatch.id,
            ImportBatch.filename,
            ImportBatch.level,
            ImportBatch.status,
            ImportBatch.created_at,
        )
    )
    flags = select(BoundaryFlag).where(BoundaryFlag.resolved_at.is_(None))
    scope = current_scope()
    if not scope.is_admin:
        flags = flags.join(BoundaryChange, BoundaryChange.id == BoundaryFlag.change_id).where(
            BoundaryChange.commune_id == scope.commune_id
        )
    return (
        paginate(listed, page),
        paginate(_changes(), changes_page),
        paginate(flags.order_by(BoundaryFlag.id.desc()), 1),
    )


def confined_to() -> int | None:
    """The one commune a planner may change, or None for a city admin (in a request, or in a
    job, which runs with its owner's scope)."""
    scope = current_scope()
    return None if scope.is_admin else scope.commune_id


def upload(
    data: bytes,
    filename: str,
    level: str,
    commune_id: int | None,
    crs_key: str,
    layer: str | None = None,
) -> ImportBatch:
    """Read and check an upload (the dry run) and keep it for the planner's review."""
    editing.require_editor()
    scope = current_scope()
    errors = {}
    if level not in UPLOAD_LEVELS:
        errors["level"] = _("Chọn cấp của các ranh giới trong tệp.")
    elif level == "commune" and not scope.is_admin:
        errors["level"] = _("Chỉ quản trị thành phố nhập ranh giới xã, phường.")
    if not data:
        errors["file"] = _("Chọn một tệp để tải lên.")
    if crs_key not in {c.key for c in CHOICES}:
        errors["crs"] = _("Chọn hệ tọa độ.")
    parent = None
    if level == "village":
        if not scope.is_admin:
            commune_id = scope.commune_id  # an officer uploads for their own commune
        if commune_id:
            parent = db.session.scalar(
                scope.areas(select(Area).where(Area.id == commune_id, Area.level == "commune"))
            )
            if parent is None:
                errors["commune_id"] = _("Không tìm thấy xã, phường đã chọn.")
    if errors:
        raise FormInvalid(errors)
    # reading, checking and comparing run in the worker: a large file never holds a request
    return jobs.submit(
        "boundaries.upload",
        {
            "level": level,
            "parent_id": parent.id if parent else None,
            "crs_key": crs_key,
            "layer": (layer or "").strip() or None,
        },
        filename,
        files=[(filename, "application/octet-stream", data)],
    )


def get_batch(batch_id: int, for_update: bool = False) -> ImportBatch:
    editing.require_editor()
    query = _batches().where(ImportBatch.id == batch_id)
    batch = db.session.scalar(query.with_for_update(of=ImportBatch) if for_update else query)
    if batch is None:
        raise NotFound(_("Không tìm thấy lần tải lên số {id}.", id=batch_id))
    return batch


# how the dry run's script colours what it fetches: the portal's status palette
BATCH_MAP_STYLES = {"status": maps.STATUS_STYLES, "highlight": maps.STYLE_CHILD_HIGHLIGHT}


@dataclass
class BatchView:
    batch: ImportBatch
    rows: Page  # of batches.Row
    counts: dict[str, int]
    map: maps.MapParts | None  # the base map; its features come by view (batch_features)
    notes: list[str]  # about the file as a whole, e.g. which of its layers was read


def batch_view(batch_id: int, problems_page: int = 1, with_map: bool = True) -> BatchView:
    """The dry run's page: counts from the batch row, one page of problems, and an empty map
    fitted to the features, which the page's script fills for the view (batch_features)."""
    batch = get_batch(batch_id)
    bounds = batches.bounds(batch)
    return BatchView(
        batch,
        batches.problems_page(batch, problems_page),
        batches.counts(batch),
        mapping.render(mapping.new_map(bounds)) if with_map and bounds else None,
        batches.notes(batch) if with_map else [],
    )


def batch_features(batch_id: int, box: tuple[float, float, float, float]) -> str:
    """The batch's features in a map view (w, s, e, n), simplified to about a pixel of it;
    only for those who may see the batch."""
    batch = get_batch(batch_id)
    return batches.features_in_view(batch, box, mapping.tolerance(box))


def commit(batch_id: int, mode: str, repairs: bool, number: str, when: str) -> Job:
    """Check the planner's choices now; the writing runs in the worker (one transaction)."""
    batch = get_batch(batch_id)
    if batch.status != "draft":
        raise FormInvalid({"batch": _("Lần tải lên này đã được xử lý.")})
    if mode not in ("all", "clean"):
        raise FormInvalid({"mode": _("Chọn nhập tất cả hay chỉ các đối tượng không có vấn đề.")})
    number, when = editing.decision(number, when)
    # checked on the batch's counts and rows: a request never loads a large plan
    if (batch.clean if mode == "clean" else batch.usable) == 0:
        raise FormInvalid({"mode": _("Không có đối tượng nào để nhập với lựa chọn này.")})
    confine = confined_to()
    if confine is not None and batches.reaches_outside(batch, confine):
        # refused now, and once more by the job when it writes (planning.apply_plan)
        raise FormInvalid(
            {"batch": _("Tệp có địa bàn nằm ngoài xã, phường bạn phụ trách: không nhập gì.")}
        )
    if jobs.pending("boundaries.commit", batch_id=batch.id):
        raise FormInvalid({"batch": _("Lần tải lên này đang được ghi.")})
    return jobs.submit(
        "boundaries.commit",
        {
            "batch_id": batch.id,
            "mode": mode,
            "repairs": repairs,
            "number": number,
            "when": when.isoformat(),
        },
        batch.filename,
    )


def discard(batch_id: int) -> ImportBatch:
    batch = get_batch(batch_id)
    if batch.status == "draft":
        batch.status = "discarded"
        db.session.commit()
    return batch


# the change page's map: the outlines before (dashed grey) and after (solid) the change
STYLE_BEFORE = {"color": "#212529", "weight": 2.5, "dashArray": "6 5", "fill": False}
AFTER_COLOURS = ("#d62828", "#1d4e89", "#2d6a4f", "#7b2cbf", "#b5651d")
CHANGE_MAP_MAX_AREAS = 300  # a city-wide import names more areas than a map can show usefully


@dataclass
class ChangeView:
    change: BoundaryChange
    before: list  # (id, name) of the areas as they were before, in the change's order
    after: list  # (id, name) of the areas the change made or changed
    flags: list[BoundaryFlag]
    map: maps.MapParts | None


def _change_shapes(change: BoundaryChange) -> tuple[dict, dict]:
    """{area_id: (name, WKB)} before and after the change.

    Before: an area changed in place as its version kept by this change (version_ids), an
    area it ended as stored. After: each area as the next change to touch it kept it (its
    version with the lowest later change_id), else as it is now: the change's own result even
    after later edits.
    """
    kept = db.session.execute(
        select(AreaVersion.area_id, AreaVersion.name, AreaVersion.geom).where(
            AreaVersion.id.in_(list(change.version_ids or []))
        )
    ).all()
    before = {row.area_id: (row.name, row.geom) for row in kept}
    ended = [i for i in change.before_ids if i not in before]
    ids = list(dict.fromkeys([*ended, *change.after_ids]))
    current = {
        row.id: (row.name, row.geom)
        for row in db.session.execute(select(Area.id, Area.name, Area.geom).where(Area.id.in_(ids)))
    }
    for i in ended:
        if i in current:
            before[i] = current[i]
    later = db.session.execute(
        select(AreaVersion.area_id, AreaVersion.name, AreaVersion.geom)
        .where(
            AreaVersion.area_id.in_(list(change.after_ids)),
            AreaVersion.change_id > change.id,
        )
        .order_by(AreaVersion.change_id.desc())
    ).all()
    after = {i: current[i] for i in change.after_ids if i in current}
    # newest first, so that each area ends with the version of the first change after this one
    after.update({row.area_id: (row.name, row.geom) for row in later})
    return before, after


def _surroundings(bounds, drawn: set[int], tolerance: float) -> dict:
    """The current villages around a change, faint, for orientation (names as tooltips)."""
    rows = db.session.execute(
        select(Area.name, func.ST_AsGeoJSON(func.ST_Simplify(AreaShape.geom, tolerance, True), 6))
        .join(AreaShape, AreaShape.area_id == Area.id)
        .where(
            Area.level == "village",
            Area.valid_to.is_(None),
            Area.id.not_in(drawn or {0}),
            func.ST_Intersects(AreaShape.geom, func.ST_MakeEnvelope(*bounds, 4326)),
        )
        .limit(300)
    ).all()
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": json.loads(g), "properties": {"name": name}}
            for name, g in rows
        ],
    }


def _change_map(before: dict, after: dict) -> maps.MapParts | None:
    """Before (dashed grey) and after (solid) on one map, every part of a split or merge."""
    shapes = {
        side: [(name, to_shape(geom)) for name, geom in found.values() if geom is not None]
        for side, found in (("before", before), ("after", after))
    }
    everything = [g for found in shapes.values() for _name, g in found]
    if not everything:
        return None
    minx, miny, maxx, maxy = shapely.union_all(everything).bounds
    pad = max(maxx - minx, maxy - miny) * 0.08 or 0.002
    bounds = (minx - pad, miny - pad, maxx + pad, maxy + pad)
    tolerance = mapping.tolerance(bounds)
    m = mapping.new_map(bounds)
    maps.add_faint(
        m, _surroundings(bounds, {*before, *after}, tolerance), _("Địa bàn lân cận"), ["name"]
    )

    def collection(side: str, word: str) -> dict:
        return {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": maps.display_shape(g, tolerance),
                    # escaped once, by the add_* helpers (geo.maps.text)
                    "properties": {
                        "label": f"{area_name} ({word})",
                        "colour": AFTER_COLOURS[i % len(AFTER_COLOURS)],
                    },
                }
                for i, (area_name, g) in enumerate(shapes[side])
            ],
        }

    # after first, each part in its own colour; before on top, unfilled and dashed, so that its
    # outline shows where it runs under the new ones (a split's outer edge is both)
    maps.add_lines(m, collection("after", _("sau")), _("Sau thay đổi"))
    if shapes["before"]:
        maps.add_line(m, collection("before", _("trước")), _("Trước thay đổi"), STYLE_BEFORE)
    return mapping.render(m)


def get_change(change_id: int) -> ChangeView:
    """A change: the names of the areas it ended, changed and made, and a map of both states."""
    editing.require_editor()
    change = db.session.scalar(_changes().where(BoundaryChange.id == change_id))
    if change is None:
        raise NotFound(_("Không tìm thấy thay đổi số {id}.", id=change_id))
    # an import before before_ids named its updated areas: they are its versions' areas
    version_areas = list(
        db.session.scalars(
            select(AreaVersion.area_id)
            .where(AreaVersion.id.in_(list(change.version_ids or [])))
            .order_by(AreaVersion.id)
        )
    )
    before_ids = list(dict.fromkeys([*change.before_ids, *version_areas]))
    named = {
        row.id: row
        for row in db.session.execute(
            select(Area.id, Area.name).where(Area.id.in_([*before_ids, *change.after_ids]))
        )
    }
    before = [named[i] for i in before_ids if i in named]
    after = [named[i] for i in change.after_ids if i in named]
    flags = list(
        db.session.scalars(select(BoundaryFlag).where(BoundaryFlag.change_id == change.id))
    )
    shown = None
    if len(before_ids) + len(change.after_ids) <= CHANGE_MAP_MAX_AREAS:
        shown = _change_map(*_change_shapes(change))
    return ChangeView(change, before, after, flags, shown)


# A boundary with more vertices than this is edited as its stored simplified shape: the
# editor's handles cannot follow a 200,000-vertex ring, and the page would weigh megabytes.
EDIT_MAX_VERTICES = 5000


@dataclass
class EditView:
    area: Area
    map: maps.MapParts
    geometry: dict  # the boundary the editor starts from
    vertices: int  # of the stored boundary
    shown_vertices: int  # of the one in the editor: fewer when it is simplified


def editable_village(area_id: int) -> EditView:
    """A village, with a map for drawing: its boundary editable, neighbours to snap to; a very
    detailed boundary is offered simplified below half a metre (area_shapes), and said so."""
    area = editing.village(area_id, with_shape=False)
    shape = db.session.execute(
        select(
            AreaShape.vertices,
            func.ST_AsGeoJSON(AreaShape.geom, 15).label("display"),
            func.ST_XMin(AreaShape.geom),
            func.ST_YMin(AreaShape.geom),
            func.ST_XMax(AreaShape.geom),
            func.ST_YMax(AreaShape.geom),
        ).where(AreaShape.area_id == area.id)
    ).one()
    pad = 0.002
    bounds = (shape[2] - pad, shape[3] - pad, shape[4] + pad, shape[5] + pad)
    if shape.vertices > EDIT_MAX_VERTICES:
        geometry = json.loads(shape.display)
    else:
        geometry = shapely.geometry.mapping(to_shape(area.geom))
    tolerance = mapping.tolerance(bounds) / 3
    neighbours = db.session.execute(
        select(Area.name, func.ST_AsGeoJSON(func.ST_Simplify(AreaShape.geom, tolerance, True), 6))
        .join(AreaShape, AreaShape.area_id == Area.id)
        .where(
            Area.parent_id == area.parent_id,
            Area.valid_to.is_(None),
            Area.id != area.id,
            func.ST_Intersects(AreaShape.geom, func.ST_MakeEnvelope(*bounds, 4326)),
        )
        .order_by(Area.id)
    ).all()
    m = mapping.new_map(bounds)
    maps.add_children(
        m,
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "geometry": json.loads(g), "properties": {"name": name}}
                for name, g in neighbours
            ],
        },
        _("Địa bàn lân cận"),
        ["name"],
    )
    shown = int(shapely.get_num_coordinates(shapely.geometry.shape(geometry)))
    return EditView(area, mapping.render(m, extras=("geoman",)), geometry, shape.vertices, shown)


# a neighbour shares a border, not a corner: at least this much of it (degrees, about 5 m)
NEIGHBOUR_BORDER = 0.00005
NEIGHBOUR_GAP = 0.00001  # outlines from real files leave hairline gaps (about a metre)


@dataclass
class MergeView:
    commune: Area
    villages: list[Area]
    map: maps.MapParts | None
    shapes: dict  # the villages for the page's script: id, name (map text), outline
    neighbours: dict[int, list[int]]  # village id: the ids of those sharing a border with it


def _neighbours(ids: list[int]) -> dict[int, list[int]]:
    """Which of these villages share a border (longer than a corner) with which, in one query
    on their drawn shapes."""
    a, b = AreaShape.__table__.alias("a"), AreaShape.__table__.alias("b")
    pairs = db.session.execute(
        select(a.c.area_id, b.c.area_id).where(
            a.c.area_id.in_(ids),
            b.c.area_id.in_(ids),
            a.c.area_id < b.c.area_id,
            func.ST_DWithin(a.c.geom, b.c.geom, NEIGHBOUR_GAP),
            func.ST_Length(
                func.ST_Intersection(
                    func.ST_Boundary(a.c.geom), func.ST_Buffer(b.c.geom, NEIGHBOUR_GAP)
                )
            )
            > NEIGHBOUR_BORDER,
        )
    ).all()
    found: dict[int, list[int]] = {i: [] for i in ids}
    for one, other in pairs:
        found[one].append(other)
        found[other].append(one)
    return found


def split_preview(area_id: int, line: dict | None) -> str:
    """The parts of a split as GeoJSON: each with its letter and a point inside it for the
    letter's label (the letters are ours; the page adds the names the planner types)."""
    pieces = editing.split_preview(area_id, line)
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": maps.display_shape(piece, 0),
                    "properties": {
                        "part": part,
                        "label_at": list(piece.point_on_surface().coords[0]),
                    },
                }
                for part, piece in zip(("A", "B"), pieces, strict=True)
            ],
        }
    )


def merge_choices(commune_id: int) -> MergeView:
    """The commune's current villages to pick from, on a map, with who borders whom."""
    editing.require_editor()
    commune = db.session.scalar(
        current_scope()
        .areas(select(Area).where(Area.id == commune_id, Area.level == "commune"))
        .options(load_only(Area.id, Area.name, Area.parent_id))
    )
    if commune is None:
        raise NotFound(_("Không tìm thấy địa bàn số {id}.", id=commune_id))
    villages = list(
        db.session.scalars(
            select(Area)
            .where(Area.parent_id == commune.id, Area.valid_to.is_(None))
            .options(load_only(Area.id, Area.name, Area.code))
            .order_by(Area.code, Area.name)
        )
    )
    ids = [v.id for v in villages]
    extent = db.session.execute(
        select(
            func.ST_XMin(func.ST_Extent(AreaShape.geom)),
            func.ST_YMin(func.ST_Extent(AreaShape.geom)),
            func.ST_XMax(func.ST_Extent(AreaShape.geom)),
            func.ST_YMax(func.ST_Extent(AreaShape.geom)),
        ).where(AreaShape.area_id.in_(ids))
    ).one()
    if not ids or extent[0] is None:
        return MergeView(commune, villages, None, {"type": "FeatureCollection", "features": []}, {})
    bounds = tuple(extent)
    outlines = dict(
        db.session.execute(
            select(
                AreaShape.area_id,
                func.ST_AsGeoJSON(
                    func.ST_SimplifyPreserveTopology(AreaShape.geom, mapping.tolerance(bounds)), 6
                ),
            ).where(AreaShape.area_id.in_(ids))
        ).all()
    )
    shapes = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": json.loads(outlines[v.id]),
                # the script shows it in a tooltip, which takes HTML: escaped once here
                "properties": {"id": v.id, "name": maps.text(v.name)},
            }
            for v in villages
            if v.id in outlines
        ],
    }
    return MergeView(
        commune,
        villages,
        mapping.render(mapping.new_map(bounds)),
        shapes,
        _neighbours(ids),
    )
