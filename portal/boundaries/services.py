"""Boundary work on the web: uploads reviewed before they are committed, changes and exports."""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import Select, or_, select

from geo import maps
from geo.crs import CHOICES
from geo.partition import as_multipolygon
from portal import jobs, mapping
from portal.boundaries import editing, planning
from portal.errors import FormInvalid, NotFound
from portal.extensions import db
from portal.i18n import _
from portal.models import Area, BoundaryChange, BoundaryFlag, ImportBatch, Job, Level
from portal.pagination import Page, paginate
from portal.security import current_scope

UPLOAD_LEVELS = {"commune": Level.COMMUNE, "village": Level.VILLAGE}


def crs_choices():
    return CHOICES


def communes() -> list[Area]:
    return list(
        db.session.scalars(
            current_scope()
            .areas(select(Area).where(Area.level == "commune", Area.valid_to.is_(None)))
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


def hub(page: int = 1, changes_page: int = 1) -> tuple[Page, Page, list[BoundaryFlag]]:
    editing.require_editor()
    flags = db.session.scalars(
        select(BoundaryFlag)
        .join(BoundaryChange, BoundaryChange.id == BoundaryFlag.change_id)
        .where(
            BoundaryFlag.resolved_at.is_(None),
            BoundaryChange.id.in_(_changes().with_only_columns(BoundaryChange.id)),
        )
        .order_by(BoundaryFlag.id.desc())
    ).all()
    return paginate(_batches(), page), paginate(_changes(), changes_page), list(flags)


def _confined_to(scope) -> int | None:
    """The one commune a planner may change, or None for a city admin."""
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


@dataclass
class Row:
    index: int
    code: str | None
    name: str | None
    severity: str
    text: str
    where: tuple[float, float] | None
    repairable: bool = False


@dataclass
class BatchView:
    batch: ImportBatch
    plan: planning.Plan
    rows: Page  # of Row
    counts: dict[str, int]
    usable: int
    clean: int
    map: maps.MapParts | None
    notes: list[str]  # about the file as a whole, e.g. which of its layers was read


def batch_view(batch_id: int, problems_page: int = 1, with_map: bool = True) -> BatchView:
    batch = get_batch(batch_id)
    plan = planning.plan_from_json(batch.level, batch.source_crs, batch.features, batch.problems)
    names = {i.feature.index: i.feature.name for i in plan.items}
    codes = {i.feature.index: i.feature.code for i in plan.items}
    rows = [
        Row(
            p.index,
            p.code,
            names.get(p.index),
            "error",
            planning.describe(p),
            p.where,
            p.repairable,
        )
        for p in plan.problems
    ] + [
        Row(
            w.index,
            codes.get(w.index),
            names.get(w.index),
            "warning",
            planning.describe_warning(w),
            w.where,
        )
        for w in plan.warnings
    ]
    # errors first, then warnings on features, then those on the file as a whole (gaps)
    rows.sort(key=lambda r: (r.severity != "error", r.index == 0, r.index))
    counts = {}
    for item in plan.items:
        counts[item.action] = counts.get(item.action, 0) + 1
    per_page = 50
    page = Page(
        rows[(problems_page - 1) * per_page : problems_page * per_page],
        max(problems_page, 1),
        per_page,
        len(rows),
    )
    return BatchView(
        batch,
        plan,
        page,
        counts,
        len(plan.writable(repairs=True, clean_only=False)),
        len(plan.writable(repairs=False, clean_only=True)),
        _batch_map(plan) if with_map else None,
        [planning.describe_note(n) for n in plan.notes],
    )


def _batch_map(plan: planning.Plan) -> maps.MapParts | None:
    shapes = [i.feature.geometry or i.feature.repaired for i in plan.items]
    shapes = [s for s in shapes if s is not None]
    if not shapes:
        return None
    bounds = shapely.union_all([shapely.box(*s.bounds) for s in shapes]).bounds
    tolerance = mapping.tolerance(bounds)
    troubled = {p.index for p in plan.problems}
    warned = {w.index for w in plan.warnings}
    features = []
    for item in plan.items:
        geom = item.feature.geometry or item.feature.repaired
        if geom is None:
            continue
        index = item.feature.index
        status = "error" if index in troubled else "warning" if index in warned else "ok"
        if status == "ok" and item.action == "unchanged":
            status = "unchanged"
        label = f"#{index} {item.feature.name or ''} ({item.feature.code or '—'})"
        features.append(
            {
                "type": "Feature",
                "geometry": maps.display_shape(geom, tolerance),
                "properties": {"status": status, "label": label},
            }
        )
    issues = [
        {
            "type": "Feature",
            "geometry": maps.display_shape(as_multipolygon(w.shape), tolerance / 4),
            "properties": {"status": "issue", "label": planning.describe_warning(w)},
        }
        for w in plan.warnings
        if w.shape is not None and not as_multipolygon(w.shape).is_empty
    ]
    m = mapping.new_map(bounds)
    maps.add_status_layer(
        m, {"type": "FeatureCollection", "features": features}, _("Đối tượng"), maps.STATUS_STYLES
    )
    maps.add_status_layer(
        m, {"type": "FeatureCollection", "features": issues}, _("Vấn đề"), maps.STATUS_STYLES
    )
    return mapping.render(m)


def commit(batch_id: int, mode: str, repairs: bool, number: str, when: str) -> Job:
    """Check the planner's choices now; the writing runs in the worker (one transaction)."""
    batch = get_batch(batch_id)
    if batch.status != "draft":
        raise FormInvalid({"batch": _("Lần tải lên này đã được xử lý.")})
    if mode not in ("all", "clean"):
        raise FormInvalid({"mode": _("Chọn nhập tất cả hay chỉ các đối tượng không có vấn đề.")})
    number, when = editing.decision(number, when)
    plan = planning.plan_from_json(batch.level, batch.source_crs, batch.features, batch.problems)
    chosen = plan.writable(repairs=repairs, clean_only=mode == "clean")
    if not chosen:
        raise FormInvalid({"mode": _("Không có đối tượng nào để nhập với lựa chọn này.")})
    confine = _confined_to(current_scope())
    if confine is not None and any(i.parent_id != confine for i in chosen):
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


def get_change(change_id: int) -> tuple[BoundaryChange, list[Area], list[Area], list[BoundaryFlag]]:
    editing.require_editor()
    change = db.session.scalar(_changes().where(BoundaryChange.id == change_id))
    if change is None:
        raise NotFound(_("Không tìm thấy thay đổi số {id}.", id=change_id))
    before = editing.areas_by_ids(list(change.before_ids))
    after = editing.areas_by_ids(list(change.after_ids))
    flags = list(
        db.session.scalars(select(BoundaryFlag).where(BoundaryFlag.change_id == change.id))
    )
    return change, before, after, flags


def editable_village(area_id: int) -> tuple[Area, maps.MapParts]:
    """A village, with a map for drawing: its boundary editable, neighbours to snap to."""
    area = editing.village(area_id)
    commune = db.session.get(Area, area.parent_id)
    bounds = to_shape(area.geom).buffer(0.002).bounds
    tolerance = mapping.tolerance(bounds) / 3
    m = mapping.new_map(bounds)
    neighbours = db.session.scalars(
        select(Area).where(
            Area.parent_id == commune.id, Area.valid_to.is_(None), Area.id != area.id
        )
    )
    near = shapely.box(*bounds)
    maps.add_children(
        m,
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": maps.display_shape(to_shape(n.geom), tolerance),
                    "properties": {"name": n.name},
                }
                for n in neighbours
                if to_shape(n.geom).intersects(near)
            ],
        },
        _("Địa bàn lân cận"),
        ["name"],
    )
    return area, mapping.render(m, extras=("geoman",))


def village_geojson(area: Area) -> dict:
    return shapely.geometry.mapping(to_shape(area.geom))


def merge_choices(commune_id: int) -> tuple[Area, list[Area]]:
    editing.require_editor()
    commune = db.session.scalar(
        current_scope().areas(select(Area).where(Area.id == commune_id, Area.level == "commune"))
    )
    if commune is None:
        raise NotFound(_("Không tìm thấy địa bàn số {id}.", id=commune_id))
    villages = db.session.scalars(
        select(Area)
        .where(Area.parent_id == commune.id, Area.valid_to.is_(None))
        .order_by(Area.code, Area.name)
    ).all()
    return commune, list(villages)
