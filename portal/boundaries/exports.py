"""Exports of current boundaries: GeoJSON (RFC 7946) and GeoPackage, for a commune or the city."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import numpy as np
import pyogrio.raw
import shapely
from flask import Response
from geoalchemy2.shape import to_shape
from sqlalchemy import or_, select

from portal import jobs
from portal.downloads import attachment
from portal.errors import NotFound
from portal.extensions import db
from portal.i18n import _
from portal.models import Area, Job
from portal.security import current_scope
from portal.text import fold

FIELDS = (
    "id",
    "code",
    "name",
    "level",
    "kind",
    "parent_id",
    "population",
    "households",
    "valid_from",
)


def _areas(commune_id: int | None) -> tuple[str, list[Area]]:
    scope = current_scope()
    query = scope.areas(select(Area).where(Area.valid_to.is_(None), Area.geom.is_not(None)))
    if commune_id:
        commune = db.session.scalar(
            scope.areas(select(Area).where(Area.id == commune_id, Area.level == "commune"))
        )
        if commune is None:
            raise NotFound(_("Không tìm thấy địa bàn số {id}.", id=commune_id))
        query = query.where(or_(Area.id == commune.id, Area.parent_id == commune.id))
        # names come from uploads: the file name keeps letters and digits only, never a path
        label = re.sub(r"[^a-z0-9]+", "_", fold(commune.name)).strip("_") or "xa"
    else:
        if not scope.is_staff:
            raise NotFound(_("Không tìm thấy."))
        query = query.where(Area.level.in_(["commune", "village"]))
        label = "thanh_pho"
    return label, list(db.session.scalars(query.order_by(Area.level, Area.code, Area.id)))


def _properties(area: Area) -> dict:
    values = {name: getattr(area, name) for name in FIELDS}
    values["valid_from"] = area.valid_from.isoformat()
    return values


def geojson(commune_id: int | None) -> tuple[str, bytes]:
    """RFC 7946: WGS 84, counter-clockwise outer rings, 6 decimals (about 10 cm)."""
    label, areas = _areas(commune_id)
    features = []
    for area in areas:
        # snapped to 6 decimals first, oriented after, so the rings stay counter-clockwise
        geom = shapely.orient_polygons(shapely.set_precision(to_shape(area.geom), 1e-6))
        features.append(
            {
                "type": "Feature",
                "id": area.id,
                "properties": _properties(area),
                "geometry": json.loads(shapely.to_geojson(geom)),
            }
        )
    body = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
    return f"{label}.geojson", _round(body).encode()


def _round(text: str) -> str:
    # set_precision snaps to the grid; printing can still show float noise: trim to 6 decimals
    return re.sub(r"(-?\d+\.\d{6})\d+", r"\1", text)


def geopackage(commune_id: int | None) -> tuple[str, bytes]:
    label, areas = _areas(commune_id)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{label}.gpkg"
        columns = [np.array([_properties(a)[f] for a in areas], dtype=object) for f in FIELDS]
        pyogrio.raw.write(
            path,
            np.array(
                [shapely.to_wkb(shapely.orient_polygons(to_shape(a.geom))) for a in areas],
                dtype=object,
            ),
            columns,
            fields=list(FIELDS),
            geometry_type="MultiPolygon",
            crs="EPSG:4326",
            driver="GPKG",
            layer="areas",
        )
        return path.name, path.read_bytes()


MIMETYPES = {"geojson": "application/geo+json", "gpkg": "application/geopackage+sqlite3"}
BUILDERS = {"geojson": geojson, "gpkg": geopackage}


def build(fmt: str, commune_id: int | None) -> tuple[str, bytes]:
    if fmt not in BUILDERS:
        raise NotFound(_("Không có định dạng xuất này."))
    return BUILDERS[fmt](commune_id)


def is_city_wide(commune_id: int | None) -> bool:
    """The whole city (a city admin, no commune chosen): large, so made by a job."""
    return commune_id is None and current_scope().is_admin


def download(fmt: str, commune_id: int | None) -> Response:
    """One commune's boundaries (or an officer's own), made at once: they are small."""
    if is_city_wide(commune_id):
        raise NotFound(_("Xuất toàn thành phố bằng nút trên trang Ranh giới."))
    name, body = build(fmt, commune_id)
    return attachment(body, MIMETYPES[fmt], name)


def start_city_export(fmt: str) -> Job:
    """The whole city's boundaries, made by a job the admin can follow and come back to."""
    if fmt not in BUILDERS:
        raise NotFound(_("Không có định dạng xuất này."))
    if not current_scope().is_staff:
        raise NotFound(_("Không tìm thấy."))
    label = _("Toàn thành phố ({fmt})", fmt="GeoPackage" if fmt == "gpkg" else "GeoJSON")
    return jobs.submit("boundaries.export", {"fmt": fmt}, label)
