"""Importing administrative boundaries: check every feature, then write all or nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import shapely
from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import func, select

from geo.features import Feature, Problem, read_geojson
from portal.errors import Invalid
from portal.extensions import db
from portal.i18n import _
from portal.models import Area, AreaVersion, Level
from portal.text import fold

Progress = Callable[[str, int, int], None]  # (phase, done, total)

# Sentences for the problem kinds that geo.features and this module report.
PROBLEM_TEXT = {
    "not_utf8": "Tệp không phải văn bản UTF-8",
    "empty_file": "Tệp rỗng",
    "not_json": "Tệp không phải JSON hợp lệ",
    "not_geojson": "Tệp không phải GeoJSON FeatureCollection",
    "crs_not_wgs84": "Hệ tọa độ của tệp không phải WGS 84 (EPSG:4326)",
    "no_features": "Tệp không có đối tượng nào",
    "not_a_feature": "Phần tử không phải một Feature",
    "missing_geometry": "Thiếu hình học",
    "wrong_type": "Sai kiểu hình học (cần Polygon hoặc MultiPolygon)",
    "empty_geometry": "Hình học rỗng",
    "malformed_geometry": "Tọa độ sai cấu trúc",
    "three_d": "Tọa độ có độ cao (3D); chỉ nhận kinh độ, vĩ độ",
    "not_wgs84": "Tọa độ nằm ngoài kinh độ/vĩ độ WGS 84 (có thể là mét của hệ VN-2000)",
    "swapped_axes": "Kinh độ và vĩ độ bị đảo chỗ",
    "short_ring": "Vòng ranh giới có ít hơn 4 điểm",
    "unclosed_ring": "Vòng ranh giới không khép kín",
    "invalid_geometry": "Hình học không hợp lệ",
    "missing_code": "Thiếu mã đơn vị",
    "missing_name": "Thiếu tên",
    "duplicate_code": "Mã trùng với đối tượng khác trong tệp",
    "unknown_kind": "Không nhận ra loại đơn vị từ tên",
    "no_parent": "Không tìm thấy đơn vị cấp trên chứa đối tượng này",
}


def describe(problem: Problem) -> str:
    """One line: where (feature number and code), what is wrong, and the details."""
    text = _(PROBLEM_TEXT.get(problem.kind, problem.kind))
    if problem.detail:
        text = f"{text}: {problem.detail}"
    if problem.index == 0:
        return _("Tệp: {text}", text=text)
    where = _("Đối tượng #{index}", index=problem.index)
    if problem.code:
        where += _(" (mã {code})", code=problem.code)
    return f"{where}: {text}"


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


def _find_parent(level: Level, feature: Feature, parent_code: str | None) -> int | None:
    parent_level = _parent_level(level)
    query = select(Area.id).where(Area.level == parent_level.value, Area.valid_to.is_(None))
    if parent_code:
        query = query.where(Area.code == parent_code)
    else:
        point = shapely.point_on_surface(feature.geometry)
        query = query.where(
            func.ST_Intersects(Area.geom, func.ST_GeomFromText(point.wkt, 4326))
        ).limit(1)
    return db.session.scalar(query)


def import_features(
    data: bytes | str,
    level: Level,
    *,
    parent_code: str | None = None,
    skip_invalid: bool = False,
    valid_from: date | None = None,
    valid_to: date | None = None,
    decision_number: str | None = None,
    decision_date: date | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import GeoJSON boundaries of one level: all features, or (skip_invalid) the usable ones.

    An area already present with the same level and code is updated when its name or boundary
    changed, and its earlier state kept as an AreaVersion. Raises ImportRejected, writing
    nothing, when a feature is unusable and skip_invalid is not set, or the file itself is.
    """
    valid_from = valid_from or date.today()
    result = read_geojson(
        data,
        require_code=level != Level.VILLAGE,
        progress=(lambda done, total: progress("check", done, total)) if progress else None,
    )
    problems = list(result.problems)
    usable: list[tuple[Feature, str, int | None]] = []
    for feature in result.valid:
        kind = feature.properties.get("kind") or kind_from_name(level, feature.name or "")
        if kind is None:
            problems.append(Problem(feature.index, feature.code, "unknown_kind", feature.name))
            continue
        parent_id = None
        if _parent_level(level):
            parent_id = _find_parent(level, feature, parent_code)
            if parent_id is None:
                problems.append(
                    Problem(feature.index, feature.code, "no_parent", parent_code or "")
                )
                continue
        usable.append((feature, kind, parent_id))

    problems.sort(key=lambda p: p.index)
    if result.file_problems or (problems and not skip_invalid):
        raise ImportRejected(problems)

    report = ImportReport(skipped=problems)
    existing = _current_by_code(level, [f.code for f, _k, _p in usable if f.code])
    for done, (feature, kind, parent_id) in enumerate(usable, start=1):
        geom = shapely.orient_polygons(feature.geometry)  # counter-clockwise outer rings
        area = existing.get(feature.code) if feature.code else None
        if area is None:
            area = Area(
                level=level.value,
                kind=kind,
                parent_id=parent_id,
                code=feature.code,
                name=feature.name,
                name_en=feature.name_en,
                name_search=fold(feature.name),
                geom=from_shape(geom, srid=4326),
                valid_from=valid_from,
                valid_to=valid_to,
                decision_number=decision_number,
                decision_date=decision_date,
            )
            db.session.add(area)
            report.created += 1
        elif area.name == feature.name and to_shape(area.geom).equals_exact(geom, 0):
            report.unchanged += 1
        else:
            _keep_version(area, valid_from)
            area.name = feature.name
            area.name_en = feature.name_en
            area.name_search = fold(feature.name)
            area.geom = from_shape(geom, srid=4326)
            area.valid_from = valid_from
            area.decision_number = decision_number
            area.decision_date = decision_date
            area.updated_at = func.now()
            report.updated += 1
        if progress:
            progress("write", done, len(usable))
    db.session.commit()
    return report


def _current_by_code(level: Level, codes: list[str]) -> dict[str, Area]:
    if not codes:
        return {}
    rows = db.session.scalars(
        select(Area).where(Area.level == level.value, Area.valid_to.is_(None), Area.code.in_(codes))
    )
    return {a.code: a for a in rows}


def _keep_version(area: Area, superseded_on: date) -> None:
    """Record the area's present state before it changes."""
    db.session.add(
        AreaVersion(
            area_id=area.id,
            name=area.name,
            population=area.population,
            households=area.households,
            geom=area.geom,
            valid_from=area.valid_from,
            valid_to=max(superseded_on - timedelta(days=1), area.valid_from),
            decision_number=area.decision_number,
            decision_date=area.decision_date,
        )
    )
