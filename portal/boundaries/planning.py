"""The import core, shared by the CLI and the web upload: read and check a file (a plan, the
dry run), then write all usable features, or only the clean ones, or nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import shapely
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import mapping
from sqlalchemy import Float, Integer, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY

from geo.checks import SpatialIssue, check_placement, same_boundary
from geo.features import MAX_VERTICES, Feature, Problem
from geo.partition import as_multipolygon
from geo.readers import Limits, read_file
from geo.sandbox import DEFAULT_LIMITS, ProcessLimits
from portal.audit import cli_actor
from portal.errors import Invalid
from portal.extensions import db
from portal.i18n import N_, _, label, thousands
from portal.models import Area, AreaPart, AreaVersion, BoundaryChange, Level
from portal.text import fold

Progress = Callable[[str, int, int], None]  # (phase, done, total)

# Sentences for the problem kinds that geo.features and this module report.
PROBLEM_TEXT = {
    "not_utf8": N_("Tệp không phải văn bản UTF-8"),
    "empty_file": N_("Tệp rỗng"),
    "not_json": N_("Tệp không phải JSON hợp lệ"),
    "not_geojson": N_("Tệp không phải GeoJSON FeatureCollection"),
    "crs_not_wgs84": N_("Hệ tọa độ của tệp không phải WGS 84 (EPSG:4326)"),
    "no_features": N_("Tệp không có đối tượng nào"),
    "not_a_feature": N_("Phần tử không phải một Feature"),
    "missing_geometry": N_("Thiếu hình học"),
    "wrong_type": N_("Sai kiểu hình học (cần Polygon hoặc MultiPolygon)"),
    "empty_geometry": N_("Hình học rỗng"),
    "malformed_geometry": N_("Tọa độ sai cấu trúc"),
    "three_d": N_("Tọa độ có độ cao (3D); chỉ nhận kinh độ, vĩ độ"),
    "not_wgs84": N_("Tọa độ nằm ngoài kinh độ/vĩ độ WGS 84 (có thể là mét của hệ VN-2000)"),
    "swapped_axes": N_("Kinh độ và vĩ độ bị đảo chỗ"),
    "short_ring": N_("Vòng ranh giới có ít hơn 4 điểm"),
    "unclosed_ring": N_("Vòng ranh giới không khép kín"),
    "invalid_geometry": N_("Hình học không hợp lệ"),
    "missing_code": N_("Thiếu mã đơn vị"),
    "missing_name": N_("Thiếu tên"),
    "duplicate_code": N_("Mã trùng với đối tượng khác trong tệp"),
    "unknown_kind": N_("Không nhận ra loại đơn vị từ tên"),
    "no_parent": N_("Không tìm thấy đơn vị cấp trên chứa đối tượng này"),
    "crs_unknown": N_("Không nhận ra hệ tọa độ"),
    "outside_vietnam": N_("Vị trí nằm ngoài Việt Nam: kiểm tra lại hệ tọa độ"),
    "too_many_vertices": N_("Quá nhiều đỉnh cho một đối tượng"),
    "file_too_large": N_("Tệp quá lớn"),
    "too_many_features": N_("Tệp có quá nhiều đối tượng"),
    "unknown_format": (
        N_("Không đọc được loại tệp này (nhận GeoJSON, Shapefile nén zip, GeoPackage, KML)")
    ),
    "bad_zip": N_("Tệp zip bị hỏng"),
    "too_many_zip_entries": N_("Tệp zip có quá nhiều tệp bên trong"),
    "zip_too_large": N_("Tệp zip giải nén ra quá lớn"),
    "zip_bomb": N_("Tỉ lệ nén bất thường (nghi “bom zip”)"),
    "zip_unsafe_path": N_("Đường dẫn trong tệp zip trỏ ra ngoài thư mục"),
    "zip_without_data": N_("Tệp zip không chứa .shp, .gpkg, .kml hay .geojson"),
    "xml_entities": N_("Tệp KML chứa khai báo DTD hoặc thực thể XML (bị từ chối vì an toàn)"),
    "bad_xml": N_("Tệp KML không phải XML hợp lệ"),
    "unreadable": N_("Không đọc được tệp"),
    "reader_timeout": N_("Đọc tệp quá lâu nên đã dừng (tệp quá lớn hoặc quá phức tạp)"),
    "reader_memory": N_("Đọc tệp cần quá nhiều bộ nhớ nên đã dừng"),
    "reader_crashed": N_("Trình đọc tệp dừng bất thường: tệp hỏng hoặc không đúng định dạng"),
    "reader_output": N_("Tệp cho ra quá nhiều dữ liệu"),
    "not_geopackage": N_("Tệp không phải GeoPackage"),
    "gpkg_sql": (
        N_(
            "Lớp trong GeoPackage là câu lệnh SQL (view) hoặc có cột tính toán: "
            "chỉ nhận bảng dữ liệu"
        )
    ),
    "no_such_layer": N_("Tệp không có lớp này"),
    "no_geometry_layer": N_("Tệp không có lớp nào chứa hình học"),
    "code_elsewhere": N_("Mã này đã là của một địa bàn thuộc đơn vị cấp trên khác"),
    "outside_scope": N_("Nằm ngoài xã, phường bạn phụ trách"),
    "code_too_long": N_("Mã dài quá số ký tự cho phép"),
    "name_too_long": N_("Tên dài quá số ký tự cho phép"),
}

# Warnings: the feature can be written, but the planner should look at it.
WARNING_TEXT = {
    "outside_parent": N_("Nằm ngoài đơn vị cấp trên {m} m²"),
    "overlap": N_("Chồng lấn {m} m² với {other}"),
    "overlap_existing": N_("Chồng lấn {m} m² với địa bàn hiện có {other}"),
    "gap": N_("Khoảng trống {m} m² không thuộc đối tượng nào"),
}


def explain(kind: str, detail: str = "") -> str:
    """What is wrong, in words, with its detail (geo gives some details as figures)."""
    text = label(PROBLEM_TEXT, kind)
    if kind == "too_many_vertices":
        try:
            vertices, limit = (int(v) for v in detail.split(" > "))
        except ValueError:
            pass
        else:
            detail = _("{n} đỉnh, tối đa {limit}", n=thousands(vertices), limit=thousands(limit))
    return f"{text}: {detail}" if detail else text


def describe(problem: Problem) -> str:
    """One line: where (feature number and code), what is wrong, and the details."""
    text = explain(problem.kind, problem.detail)
    if problem.index == 0:
        return _("Tệp: {text}", text=text)
    where = _("Đối tượng #{index}", index=problem.index)
    if problem.code:
        where += _(" (mã {code})", code=problem.code)
    return f"{where}: {text}"


def describe_note(note: dict) -> str:
    """What the planner should know about the file as a whole (which of its layers was read)."""
    if note.get("kind") == "layers":
        return _(
            "Tệp có {n} lớp ({layers}); đã đọc lớp “{chosen}”. Muốn nhập lớp khác, hãy tải tệp"
            " lên lại và ghi tên lớp đó.",
            n=len(note["layers"]),
            layers=", ".join(note["layers"]),
            chosen=note["chosen"],
        )
    return str(note)


def describe_warning(issue: SpatialIssue) -> str:
    text = _(WARNING_TEXT[issue.kind], m=thousands(issue.area_m2), other=issue.other)
    if issue.index == 0:
        return _("Tệp: {text}", text=text)
    return _("Đối tượng #{index}", index=issue.index) + f": {text}"


class ImportRejected(Invalid):
    """Nothing was written because some features are unusable."""

    def __init__(self, problems: list[Problem]):
        super().__init__(
            _("Không nhập gì: {n} lỗi trong tệp.", n=len(problems)),
            details=[describe(p) for p in problems],
        )
        self.problems = problems


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[Problem] = field(default_factory=list)
    area_ids: list[int] = field(default_factory=list)
    change_id: int | None = None  # the BoundaryChange that records the import, for a revert


@dataclass
class PlannedFeature:
    feature: Feature
    kind: str | None = None
    parent_id: int | None = None
    action: str = "blocked"  # create, update, unchanged, blocked
    area_id: int | None = None  # the existing area an update replaces


@dataclass
class Plan:
    """The dry run: every feature with what would happen to it, and every problem found."""

    level: Level
    source_crs: str
    items: list[PlannedFeature]
    problems: list[Problem]  # the feature cannot be written as it is
    warnings: list[SpatialIssue]  # it can, but a planner should look
    notes: list[dict] = field(default_factory=list)  # about the file: e.g. which layer was read

    @property
    def file_problems(self) -> list[Problem]:
        return [p for p in self.problems if p.index == 0]

    def writable(self, *, repairs: bool, clean_only: bool) -> list[PlannedFeature]:
        """The features a commit writes: all usable ones, or only those with nothing to say."""
        if self.file_problems:
            return []
        troubled = {p.index for p in self.problems} | {w.index for w in self.warnings}
        blocked_kinds = {}
        for problem in self.problems:
            blocked_kinds.setdefault(problem.index, set()).add(problem.kind)
        chosen = []
        for item in self.items:
            index = item.feature.index
            if clean_only and index in troubled:
                continue
            kinds = blocked_kinds.get(index, set())
            repairable = kinds == {"invalid_geometry"} and item.feature.repaired is not None
            if kinds and not (repairs and repairable):
                continue
            if item.kind is None:
                continue
            chosen.append(item)
        return chosen


# The first words of an official name tell the kind of unit.
_KIND_PREFIXES: dict[Level, tuple[tuple[str, str], ...]] = {
    Level.PROVINCE: (("thanh pho", "thanh_pho"), ("tinh", "tinh")),
    Level.DISTRICT: (
        ("quan", "quan"),
        ("huyen", "huyen"),
        ("thi xa", "thi_xa"),
        ("thanh pho", "thanh_pho_thuoc_tinh"),
    ),
    Level.COMMUNE: (("phuong", "phuong"), ("xa", "xa"), ("dac khu", "dac_khu")),
    Level.VILLAGE: (
        ("to dan pho", "to_dan_pho"),
        ("khu pho", "khu_pho"),
        ("thon", "thon"),
        ("lang", "lang"),
        ("ap", "ap"),
        ("ban", "ban"),
        ("khom", "khom"),
    ),
}


def kind_from_name(level: Level, name: str) -> str | None:
    folded = fold(name)
    for prefix, kind in _KIND_PREFIXES[level]:
        if folded == prefix or folded.startswith(prefix + " "):
            return kind
    return None


def _parent_level(level: Level) -> Level | None:
    return {
        Level.PROVINCE: None,
        Level.DISTRICT: Level.PROVINCE,
        Level.COMMUNE: Level.PROVINCE,
        Level.VILLAGE: Level.COMMUNE,
    }[level]


def _find_parents(level: Level, geoms: dict[int, object], parent_code: str | None) -> dict:
    """The parent of each feature (index -> area id), in one query: the unit with the given
    code, or else the one containing a point inside the feature (found on area_parts, the
    parents cut into small pieces, with the points sent as three arrays)."""
    parents = select(Area.id).where(
        Area.level == _parent_level(level).value, Area.valid_to.is_(None)
    )
    if not geoms:
        return {}
    if parent_code:
        found = db.session.scalar(parents.where(Area.code == parent_code))
        return dict.fromkeys(geoms, found) if found else {}
    indexes = list(geoms)
    inside = shapely.get_coordinates(shapely.point_on_surface(list(geoms.values())))
    points = (
        func.unnest(
            bindparam("idx", indexes, type_=ARRAY(Integer)),
            bindparam("lon", inside[:, 0].tolist(), type_=ARRAY(Float)),
            bindparam("lat", inside[:, 1].tolist(), type_=ARRAY(Float)),
        )
        .table_valued("idx", "lon", "lat")
        .render_derived(name="points")
    )
    point = func.ST_SetSRID(func.ST_MakePoint(points.c.lon, points.c.lat), 4326)
    # the pieces under each point first, by their spatial index, then which are parents: a
    # planner that guessed the other order (fresh tables have no statistics) tested every
    # point against every parent, 70 s for 20,000 features
    hits = (
        select(points.c.idx, AreaPart.area_id)
        .join(AreaPart, func.ST_Intersects(AreaPart.geom, point))
        .cte("hits")
        .prefix_with("MATERIALIZED")
    )
    rows = db.session.execute(
        select(hits.c.idx, func.min(hits.c.area_id))
        .where(hits.c.area_id.in_(parents))
        .group_by(hits.c.idx)
    )
    return dict(rows.all())


def plan_file(
    data: bytes | str,
    filename: str,
    level: Level,
    *,
    parent_code: str | None = None,
    crs_key: str = "auto",
    tolerance_m2: float = 100.0,
    layer: str | None = None,
    confine_to: int | None = None,
    process: ProcessLimits = DEFAULT_LIMITS,
    progress: Progress | None = None,
) -> Plan:
    """Read and check a file: what each feature would become, and every problem, writing nothing.

    A code is matched only with an area of the same parent: a file never changes another
    commune's village by naming its code. `confine_to` is the one commune a commune officer may
    change: a feature outside it (beyond the tolerance) is an error, not a warning.
    """
    if isinstance(data, str):
        data = data.encode()
    result = read_file(
        data,
        filename,
        crs_key=crs_key,
        require_code=level != Level.VILLAGE,
        limits=Limits(max_vertices=MAX_VERTICES[level.value]),
        layer=layer,
        process=process,
        progress=(lambda done, total: progress("check", done, total)) if progress else None,
    )
    problems = list(result.problems)
    items: list[PlannedFeature] = []
    if not result.file_problems:
        existing = _current_by_code(level, [f.code for f in result.features if f.code])
        located = {
            f.index: f.geometry or f.repaired
            for f in result.features
            if (f.geometry or f.repaired) is not None
        }
        parents = _find_parents(level, located, parent_code) if _parent_level(level) else {}
        for feature in result.features:
            item = PlannedFeature(feature)
            items.append(item)
            problems.extend(_too_long(feature))
            geom = feature.geometry or feature.repaired
            item.kind = feature.properties.get("kind") or kind_from_name(level, feature.name or "")
            if item.kind is None and feature.name:
                problems.append(Problem(feature.index, feature.code, "unknown_kind", feature.name))
            if geom is not None and _parent_level(level):
                item.parent_id = parents.get(feature.index)
                if item.parent_id is None:
                    problems.append(
                        Problem(feature.index, feature.code, "no_parent", parent_code or "")
                    )
            if confine_to is not None and geom is not None and item.parent_id != confine_to:
                problems.append(Problem(feature.index, feature.code, "outside_scope"))
            area = existing.get(feature.code) if feature.code else None
            if area is not None and _parent_level(level) and area.parent_id != item.parent_id:
                if item.parent_id is not None:
                    problems.append(Problem(feature.index, feature.code, "code_elsewhere"))
                area = None
            if area is not None:
                item.area_id = area.id
                same = geom is not None and same_boundary(
                    to_shape(area.geom), shapely.orient_polygons(geom)
                )
                item.action = "unchanged" if same and area.name == feature.name else "update"
            else:
                item.action = "create"
    problems.sort(key=lambda p: (p.index, p.kind))
    blocked = {p.index for p in problems}
    for item in items:
        if item.feature.index in blocked and not item.feature.repaired:
            item.action = "blocked"
    warnings = [] if result.file_problems else _placement_warnings(items, level, tolerance_m2)
    if confine_to is not None:
        # an officer's feature reaching outside their commune is refused, not just pointed out
        outside = [w for w in warnings if w.kind == "outside_parent" and w.index]
        warnings = [w for w in warnings if w not in outside]
        for w in outside:
            code = next((i.feature.code for i in items if i.feature.index == w.index), None)
            detail = _("{m} m² ngoài xã, phường", m=thousands(w.area_m2))
            problems.append(Problem(w.index, code, "outside_scope", detail, w.where))
        problems.sort(key=lambda p: (p.index, p.kind))
        for item in items:
            if item.feature.index in {w.index for w in outside}:
                item.action = "blocked"
    return Plan(level, result.source_crs, items, problems, warnings, list(result.notes))


def _too_long(feature: Feature) -> list[Problem]:
    """A code or name longer than its column (the limits are the model's, not copies)."""
    columns = Area.__table__.c
    found = []
    for kind, value, stored_in in (
        ("code_too_long", feature.code, columns.code),
        ("name_too_long", feature.name, columns.name),
        ("name_too_long", feature.name_en, columns.name_en),
    ):
        if value and len(value) > stored_in.type.length:
            detail = _("{n} > {limit} ký tự", n=len(value), limit=stored_in.type.length)
            found.append(Problem(feature.index, None, kind, detail))
    return found


def _placement_warnings(
    items: list[PlannedFeature], level: Level, tolerance_m2: float
) -> list[SpatialIssue]:
    """Outside the parent, overlapping, leaving gaps: checked per parent, in Shapely. Gaps
    are those the features leave that were not there before (see geo.checks.new_gaps)."""
    by_parent: dict[int | None, list[PlannedFeature]] = {}
    for item in items:
        if (item.feature.geometry or item.feature.repaired) is not None:
            by_parent.setdefault(item.parent_id, []).append(item)
    warnings: list[SpatialIssue] = []
    for parent_id, group in by_parent.items():
        parent = db.session.get(Area, parent_id) if parent_id else None
        replaced = {i.area_id for i in group if i.area_id}
        siblings, before = [], []
        if parent is not None:
            rows = db.session.scalars(
                select(Area).where(
                    Area.parent_id == parent.id,
                    Area.valid_to.is_(None),
                    Area.level == level.value,
                    Area.geom.is_not(None),
                )
            )
            for area in rows:
                if area.id in replaced:
                    before.append(to_shape(area.geom))
                else:
                    siblings.append((area.name, to_shape(area.geom)))
        features = [
            (i.feature.index, i.feature.name or "", i.feature.geometry or i.feature.repaired)
            for i in group
        ]
        warnings.extend(
            check_placement(
                features,
                to_shape(parent.geom) if parent is not None and parent.geom is not None else None,
                siblings,
                tolerance_m2,
                replaced=before,
            )
        )
    return sorted(warnings, key=lambda w: (w.index, w.kind))


def apply_plan(
    plan: Plan,
    *,
    repairs: bool = False,
    clean_only: bool = False,
    valid_from: date | None = None,
    valid_to: date | None = None,
    decision_number: str | None = None,
    decision_date: date | None = None,
    actor: str = "system",
    note: str | None = None,
    confine_to: int | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Write the plan's features (see Plan.writable) and record them as one BoundaryChange.

    An updated area keeps its earlier state as a version that the change names, so that
    reverting the change restores exactly what was there. `confine_to` refuses, once more at
    write time, any feature outside the one commune an officer may change.
    """
    if plan.file_problems:
        raise ImportRejected(plan.problems)
    valid_from = valid_from or date.today()
    chosen = plan.writable(repairs=repairs, clean_only=clean_only)
    if confine_to is not None and any(i.parent_id != confine_to for i in chosen):
        raise Invalid(_("Tệp có địa bàn nằm ngoài xã, phường bạn phụ trách: không nhập gì."))
    written = {i.feature.index for i in chosen}
    report = ImportReport(skipped=[p for p in plan.problems if p.index not in written])
    level = plan.level
    parents = {i.parent_id for i in chosen}
    change = BoundaryChange(
        kind="import",
        # a commune's villages: that commune's change; anything wider belongs to the city
        commune_id=parents.pop() if level == Level.VILLAGE and len(parents) == 1 else None,
        decision_number=decision_number or "",
        decision_date=decision_date or valid_from,
        actor=actor,
        before_ids=[],
        after_ids=[],
        version_ids=[],
        team_cover={},
        note=note,
    )
    db.session.add(change)
    db.session.flush()
    new_areas, versions = [], []
    # the areas a feature updates, in one query rather than one per feature
    ids = [i.area_id for i in chosen if i.area_id]
    existing = {a.id: a for a in db.session.scalars(select(Area).where(Area.id.in_(ids)))}
    for done, item in enumerate(chosen, start=1):
        if progress:
            progress("write", done, len(chosen))
        feature = item.feature
        geom = shapely.orient_polygons(feature.geometry or feature.repaired)  # CCW outer rings
        area = existing.get(item.area_id)
        if area is None:
            area = Area(
                level=level.value,
                kind=item.kind,
                parent_id=item.parent_id,
                code=feature.code,
                valid_to=valid_to,
            )
            db.session.add(area)
            new_areas.append(area)
            report.created += 1
        elif (
            area.name == feature.name
            and area.name_en == feature.name_en
            and same_boundary(to_shape(area.geom), geom)
        ):
            report.unchanged += 1
            continue
        else:
            versions.append(keep_version(area, valid_from, change.id))
            area.updated_at = func.now()
            report.updated += 1
            report.area_ids.append(area.id)
        area.name = feature.name
        area.name_en = feature.name_en
        area.name_search = fold(feature.name)
        area.geom = from_shape(geom, srid=4326)
        area.valid_from = valid_from
        area.decision_number = decision_number
        area.decision_date = decision_date
    db.session.flush()
    report.area_ids.extend(a.id for a in new_areas)
    # an updated area is both before and after (as an edit records it): its earlier state is
    # the version named in version_ids, which the change page draws and a revert restores
    change.before_ids = [v.area_id for v in versions]
    change.after_ids = list(report.area_ids)
    change.version_ids = [v.id for v in versions]
    report.change_id = change.id
    db.session.commit()
    return report


def import_features(
    data: bytes | str,
    level: Level,
    *,
    filename: str = "upload.geojson",
    parent_code: str | None = None,
    skip_invalid: bool = False,
    crs_key: str = "auto",
    layer: str | None = None,
    valid_from: date | None = None,
    valid_to: date | None = None,
    decision_number: str | None = None,
    decision_date: date | None = None,
    actor: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a boundary file in one go (the demo, tests): all features, or with skip_invalid
    the usable ones. Raises ImportRejected, writing nothing, when a feature is unusable and
    skip_invalid is not set, or when the file itself is."""
    plan = plan_file(
        data,
        filename,
        level,
        parent_code=parent_code,
        crs_key=crs_key,
        layer=layer,
        progress=progress,
    )
    if plan.file_problems or (plan.problems and not skip_invalid):
        raise ImportRejected(plan.problems)
    return apply_plan(
        plan,
        valid_from=valid_from,
        valid_to=valid_to,
        decision_number=decision_number,
        decision_date=decision_date,
        actor=actor or cli_actor.get(),
        note=filename,
        progress=progress,
    )


def _current_by_code(level: Level, codes: list[str]) -> dict[str, Area]:
    if not codes:
        return {}
    rows = db.session.scalars(
        select(Area).where(Area.level == level.value, Area.valid_to.is_(None), Area.code.in_(codes))
    )
    return {a.code: a for a in rows}


def keep_version(area: Area, superseded_on: date, change_id: int | None = None) -> AreaVersion:
    """Record the area's present state before it changes; it was in force until the day before."""
    version = AreaVersion(
        area_id=area.id,
        name=area.name,
        name_en=area.name_en,
        population=area.population,
        households=area.households,
        geom=area.geom,
        valid_from=area.valid_from,
        valid_to=max(superseded_on - timedelta(days=1), area.valid_from),
        decision_number=area.decision_number,
        decision_date=area.decision_date,
        change_id=change_id,
    )
    db.session.add(version)
    db.session.flush()
    return version


# --- the plan as JSON: how an ImportBatch kept it before migration 0008 stored it as rows ----
# (portal.boundaries.batches). Kept only as that old format: the migration's test builds old
# batches with it, and bench/bench_pages.py times the old page with it as its baseline.


def plan_to_json(plan: Plan) -> tuple[list, list]:
    """(features, problems) as stored in an ImportBatch; warnings ride along in problems."""
    features = [
        {
            "index": i.feature.index,
            "code": i.feature.code,
            "name": i.feature.name,
            "name_en": i.feature.name_en,
            "kind": i.kind,
            "parent_id": i.parent_id,
            "action": i.action,
            "area_id": i.area_id,
            "geometry": mapping(i.feature.geometry) if i.feature.geometry else None,
            "repaired": mapping(i.feature.repaired) if i.feature.repaired else None,
        }
        for i in plan.items
    ]
    problems = (
        [
            {
                "severity": "error",
                "index": p.index,
                "code": p.code,
                "kind": p.kind,
                "detail": p.detail,
                "where": list(p.where) if p.where else None,
                "repairable": p.repairable,
            }
            for p in plan.problems
        ]
        + [
            {
                "severity": "warning",
                "index": w.index,
                "kind": w.kind,
                "area_m2": w.area_m2,
                "where": list(w.where),
                "other": w.other,
                "shape": mapping(w.shape) if w.shape is not None else None,
            }
            for w in plan.warnings
        ]
        + [{"severity": "note", **n} for n in plan.notes]
    )
    return features, problems


def plan_from_json(level: str, source_crs: str, features: list, problems: list) -> Plan:
    def geom(value):
        return as_multipolygon(shapely.geometry.shape(value)) if value else None

    items = [
        PlannedFeature(
            Feature(
                f["index"],
                f["code"],
                f["name"],
                f["name_en"],
                {},
                geom(f["geometry"]),
                geom(f["repaired"]),
            ),
            f["kind"],
            f["parent_id"],
            f["action"],
            f["area_id"],
        )
        for f in features
    ]
    errors = [
        Problem(
            p["index"],
            p["code"],
            p["kind"],
            p["detail"],
            tuple(p["where"]) if p["where"] else None,
            p["repairable"],
        )
        for p in problems
        if p["severity"] == "error"
    ]
    warnings = [
        SpatialIssue(
            p["index"], p["kind"], p["area_m2"], tuple(p["where"]), p["other"], geom(p["shape"])
        )
        for p in problems
        if p["severity"] == "warning"
    ]
    notes = [
        {k: v for k, v in p.items() if k != "severity"} for p in problems if p["severity"] == "note"
    ]
    return Plan(Level(level), source_crs, items, errors, warnings, notes)
