"""Coordinate reference systems a boundary file may come in, and converting to WGS 84 once.

VN-2000 is Vietnam's national datum. Files come in its UTM zones (EPSG:3405 zone 48N, 3406
zone 49N) or in the 3° transverse Mercator zones each province uses for cadastral maps
(scale 0.9999, false easting 500 km), around the province's central meridian.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry.base import BaseGeometry

WGS84 = CRS.from_epsg(4326)
# VN-2000's datum shift to WGS 84 (Decision 973/2001/TT-BTNMT), as PROJ's +towgs84
VN2000_TOWGS84 = (
    "-191.90441429,-39.30318279,-111.45032835,-0.00928836,0.01975479,-0.00427372,0.252906278"
)


def vn2000_tm3(central_meridian: float) -> CRS:
    """A VN-2000 provincial 3° TM zone around the given central meridian (decimal degrees)."""
    return CRS.from_proj4(
        f"+proj=tmerc +lat_0=0 +lon_0={central_meridian} +k=0.9999 +x_0=500000 +y_0=0 "
        f"+ellps=WGS84 +towgs84={VN2000_TOWGS84} +units=m +no_defs +type=crs"
    )


@dataclass(frozen=True)
class Choice:
    key: str
    label: str


# Provinces whose central meridian the portal names beside the zone (others pick the degree).
KNOWN_MERIDIANS = {105.0: "Hà Nội", 105.75: "TP. Hồ Chí Minh, Hải Phòng", 107.75: "Đà Nẵng"}


def _dms(degrees: float) -> str:
    whole = int(degrees)
    return f"{whole}°{round((degrees - whole) * 60):02d}'"


def _tm3_choices() -> list[Choice]:
    choices = []
    for quarter in range(102 * 4, 109 * 4 + 1):  # every 15' from 102°00' to 109°00'
        meridian = quarter / 4
        label = f"VN-2000 / TM-3, kinh tuyến trục {_dms(meridian)}"
        if meridian in KNOWN_MERIDIANS:
            label += f" ({KNOWN_MERIDIANS[meridian]})"
        choices.append(Choice(f"TM3:{meridian}", label))
    return choices


# What a planner can choose when a file does not say, or says wrongly, what its CRS is.
CHOICES = [
    Choice("auto", "Theo tệp (WGS 84 nếu tệp không ghi)"),
    Choice("EPSG:4326", "WGS 84 (kinh độ, vĩ độ)"),
    Choice("EPSG:3405", "VN-2000 / UTM múi 48N (EPSG:3405)"),
    Choice("EPSG:3406", "VN-2000 / UTM múi 49N (EPSG:3406)"),
    *_tm3_choices(),
]


def crs_for(key: str) -> CRS:
    """The CRS for a planner's choice ("EPSG:3405", "TM3:105.0") or a file's WKT/PROJ text."""
    if key.startswith("TM3:"):
        return vn2000_tm3(float(key[4:]))
    try:
        return CRS.from_user_input(key)
    except CRSError as exc:
        raise ValueError(f"unknown coordinate system: {key}") from exc


def recognise(declared: CRS) -> CRS:
    """The CRS a file meant: a 3° TM zone (scale 0.9999) declared without its datum shift is
    VN-2000's. ESRI .prj files cannot hold the shift (GDAL keeps it only in the datum's name),
    and without it every point would land some 200 m off."""
    if declared.to_epsg():
        return declared
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        params = declared.to_dict()
    datum = (declared.datum.name if declared.datum else "").lower()
    vn2000_named = "vn_2000" in datum or "vn-2000" in datum or "towgs84_-191_9" in datum
    if (
        params.get("proj") == "tmerc"
        and params.get("k") == 0.9999
        and params.get("x_0") == 500000
        and (vn2000_named or not params.get("towgs84"))
    ):
        return vn2000_tm3(float(params["lon_0"]))
    return declared


def is_wgs84(crs: CRS) -> bool:
    return crs.is_geographic and crs.equals(WGS84, ignore_axis_order=True)


def looks_projected(geom: BaseGeometry) -> bool:
    """Coordinates far outside longitude/latitude ranges: metres of a projected CRS."""
    minx, miny, maxx, maxy = geom.bounds
    return max(abs(minx), abs(maxx)) > 180 or max(abs(miny), abs(maxy)) > 90


def to_wgs84(geoms: list[BaseGeometry], source: CRS) -> list[BaseGeometry]:
    """Convert geometries to WGS 84 longitude/latitude, once, at import."""
    if is_wgs84(source):
        return geoms
    transformer = Transformer.from_crs(source, WGS84, always_xy=True)
    return [shapely.transform(g, lambda xy: _apply(transformer, xy)) for g in geoms]


def _apply(transformer: Transformer, coords):
    x, y = transformer.transform(coords[:, 0], coords[:, 1])
    coords = coords.copy()
    coords[:, 0], coords[:, 1] = x, y
    return coords


def describe(crs: CRS) -> str:
    """A name a planner recognises, also for CRSs that came without one (PROJ strings, .prj)."""
    epsg = crs.to_epsg()
    if epsg:
        return f"{crs.name} (EPSG:{epsg})"
    with warnings.catch_warnings():  # a PROJ dict is enough to recognise a TM-3 zone
        warnings.simplefilter("ignore", UserWarning)
        params = crs.to_dict()
    if params.get("proj") == "tmerc" and params.get("k") == 0.9999:
        shift = params.get("towgs84") or [0]
        vn2000 = round(float(shift[0]), 1) == -191.9
        return f"{'VN-2000' if vn2000 else '?'} / TM-3, kinh tuyến trục {_dms(params['lon_0'])}"
    return crs.name if crs.name and crs.name != "unknown" else crs.to_proj4()
