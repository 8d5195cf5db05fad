"""Coordinate reference systems a boundary file may come in, and converting to WGS 84 once.

VN-2000 is Vietnam's national datum. Files come in its UTM zones (EPSG:3405 zone 48N, 3406
zone 49N), in the 3° transverse Mercator zones each province uses for cadastral maps (scale
0.9999, false easting 500 km, around the province's central meridian), or in its longitude and
latitude (EPSG:4756). Whatever a file calls it, a VN-2000 definition is recognised by its
parameters and converted with one transformation: EPSG:6960, as pyproj applies it.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import shapely
from pyproj import CRS, Transformer
from pyproj.crs import CoordinateOperation, ProjectedCRS
from pyproj.crs.coordinate_operation import TransverseMercatorConversion
from pyproj.exceptions import CRSError
from shapely.geometry.base import BaseGeometry

WGS84 = CRS.from_epsg(4326)

# VN-2000 to WGS 84 is EPSG:6960 ("VN-2000 to WGS 84 (2)", from Vietnam's Department of Survey
# and Mapping), the transformation pyproj chooses for EPSG:4756 -> 4326 and every VN-2000 CRS of
# the EPSG registry. EPSG gives its rotations in the coordinate-frame convention (-0.00928836",
# +0.01975479", -0.00427372"); PROJ's +towgs84 and WKT's TOWGS84 take the position-vector
# convention, the same rotations with the other sign. Many Vietnamese .prj files and PROJ
# strings put the frame values in +towgs84 unchanged, which in Hanoi lands every point about
# 0.75 m off; GDAL, for its part, writes a PROJ string's +towgs84 into a GeoPackage's WKT with
# the rotations' signs turned over. So the sign of the rotations in a file says nothing
# reliable: both are recognised as VN-2000 and converted with this one transformation.
VN2000_TRANSLATION = (-191.90441429, -39.30318279, -111.45032835)  # metres
VN2000_FRAME_ROTATION = (-0.00928836, 0.01975479, -0.00427372)  # arc seconds, coordinate frame
VN2000_SCALE_PPM = 0.252906278
# the same as PROJ's +towgs84 (position vector), for PROJ strings
VN2000_TOWGS84 = ",".join(
    str(v) for v in (*VN2000_TRANSLATION, *(-r for r in VN2000_FRAME_ROTATION), VN2000_SCALE_PPM)
)
# EPSG:5194 ("VN-2000 to WGS 84 (1)", used by Total in the Mekong delta): a file carrying it
# is VN-2000 too, and is converted with the one above like any other.
_OTHER_VN2000_SHIFTS = (((-192.873, -39.382, -111.202), (0.00205, 0.0005, -0.00335), 0.0188),)
_VN2000_NAMES = ("vn2000", "vietnam2000")  # "VN-2000", "VN_2000", "D_Vietnam_2000", ...
_UTM_SCALE = 0.9996


# EPSG:6960 itself, read from PROJ's database: every VN-2000 CRS below is bound to it
_VN2000_TO_WGS84 = CoordinateOperation.from_epsg(6960).to_json_dict()
_VN2000_BASE = CRS.from_epsg(4756)


def _bound(source: CRS) -> CRS:
    """The CRS on VN-2000 with EPSG:6960 as its way to WGS 84 (a PROJ BoundCRS): PROJ then
    applies exactly that transformation, and a .prj or WKT written from it still says VN-2000."""
    return CRS.from_json_dict(
        {
            "type": "BoundCRS",
            "source_crs": source.to_json_dict(),
            "target_crs": WGS84.to_json_dict(),
            "transformation": {
                key: _VN2000_TO_WGS84[key] for key in ("name", "method", "parameters", "id")
            },
        }
    )


def vn2000(
    central_meridian: float,
    scale: float,
    false_easting: float = 500_000.0,
    false_northing: float = 0.0,
    latitude_of_origin: float = 0.0,
) -> CRS:
    """A transverse Mercator projection of VN-2000 (a TM-3 or UTM zone, or any other)."""
    zone = (central_meridian + 183.0) / 6.0
    if abs(scale - 0.9999) < 1e-9:
        name = f"VN-2000 / TM-3 {_dms(central_meridian, '-')}"
    elif abs(scale - _UTM_SCALE) < 1e-9 and zone == int(zone) and false_northing == 0:
        name = f"VN-2000 / UTM zone {int(zone)}N"
    else:
        name = f"VN-2000 / TM {_dms(central_meridian, '-')} k={scale:g}"
    conversion = TransverseMercatorConversion(
        latitude_natural_origin=latitude_of_origin,
        longitude_natural_origin=central_meridian,
        false_easting=false_easting,
        false_northing=false_northing,
        scale_factor_natural_origin=scale,
    )
    return _bound(ProjectedCRS(conversion, name=name, geodetic_crs=_VN2000_BASE))


def vn2000_tm3(central_meridian: float) -> CRS:
    """A VN-2000 provincial 3° TM zone around the given central meridian (decimal degrees)."""
    return vn2000(central_meridian, 0.9999)


VN2000_GEOGRAPHIC = _bound(_VN2000_BASE)


def _dms(degrees: float, sep: str = "°") -> str:
    whole = int(degrees)
    minutes = f"{round((degrees - whole) * 60):02d}"
    return f"{whole}°{minutes}'" if sep == "°" else f"{whole}{sep}{minutes}"


@dataclass(frozen=True)
class Choice:
    key: str
    label: str


# Provinces whose central meridian the portal names beside the zone (others pick the degree).
KNOWN_MERIDIANS = {105.0: "Hà Nội", 105.75: "TP. Hồ Chí Minh, Hải Phòng", 107.75: "Đà Nẵng"}


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
    """The CRS for a planner's choice ("EPSG:3405", "TM3:105.0") or a file's WKT/PROJ text,
    a VN-2000 one recognised (see recognise)."""
    if key.startswith("TM3:"):
        return vn2000_tm3(float(key[4:]))
    try:
        return recognise(CRS.from_user_input(key))
    except CRSError as exc:
        raise ValueError(f"unknown coordinate system: {key}") from exc


def _params(crs: CRS) -> dict:
    with warnings.catch_warnings():  # a PROJ dict loses nothing we read from it
        warnings.simplefilter("ignore", UserWarning)
        return crs.to_dict()


def _close(values, expected, tolerance: float) -> bool:
    return all(abs(float(v) - e) <= tolerance for v, e in zip(values, expected, strict=True))


def _vn2000_shift(towgs84) -> bool:
    """A datum shift that is one of EPSG's VN-2000 to WGS 84, with its rotations in either
    convention (all three signs turned over)."""
    if not towgs84 or len(towgs84) != 7:
        return False
    shift, rotation, scale = towgs84[:3], towgs84[3:6], towgs84[6]
    known = (
        (VN2000_TRANSLATION, VN2000_FRAME_ROTATION, VN2000_SCALE_PPM),
        *_OTHER_VN2000_SHIFTS,
    )
    return any(
        _close(shift, t, 1e-3)
        and abs(float(scale) - s) <= 1e-6
        and (_close(rotation, r, 1e-6) or _close(rotation, [-x for x in r], 1e-6))
        for t, r, s in known
    )


def _vn2000_named(crs: CRS) -> bool:
    names = [crs.datum.name if crs.datum else ""]
    if crs.geodetic_crs is not None:
        names.append(crs.geodetic_crs.name)
    folded = [re.sub(r"[^a-z0-9]", "", name.lower()) for name in names]
    return any(vn in name for vn in _VN2000_NAMES for name in folded)


def _wgs84_ellipsoid(crs: CRS) -> bool:
    ellipsoid = crs.ellipsoid
    return (
        ellipsoid is not None
        and abs(ellipsoid.semi_major_metre - 6_378_137.0) < 1e-3
        and abs(ellipsoid.inverse_flattening - 298.257223563) < 1e-6
    )


def recognise(declared: CRS) -> CRS:
    """The CRS a file meant: a VN-2000 definition, however it is spelled, becomes the one
    bound to EPSG:6960 (see vn2000); any other CRS is kept as declared.

    VN-2000 is recognised by its parameters, not by a code or a name alone: the WGS 84
    ellipsoid (VN-2000 uses it), and either a datum called VN-2000 (by EPSG, ESRI or anyone:
    "Vietnam 2000", "D_Vietnam_2000", "VN_2000") or one of EPSG's VN-2000 datum shifts with its
    rotations in either sign convention. Its projection is kept: longitude and latitude, UTM,
    or any transverse Mercator zone (central meridian, scale, false easting and northing).
    A 3° TM zone (scale 0.9999, false easting 500 km) with no datum shift is VN-2000's too,
    whatever its datum is called: ESRI .prj files cannot hold the shift, .prj files made from a
    WGS 84 template name WGS 84, and these zones are VN-2000's cadastral zones only; without
    the shift every point would land some 200 m off.
    """
    if not _wgs84_ellipsoid(declared):
        return declared  # e.g. HN-72 on Krasovsky's ellipsoid: not ours to guess
    params = _params(declared)
    towgs84 = params.get("towgs84")
    named = _vn2000_named(declared) or _vn2000_shift(towgs84)
    proj = params.get("proj")
    if proj == "longlat":
        return VN2000_GEOGRAPHIC if named else declared
    if params.get("units", "m") != "m":
        return declared
    if proj == "utm":
        zone = int(params["zone"])
        south = "south" in params
        meridian, scale = zone * 6.0 - 183.0, _UTM_SCALE
        easting, northing, origin = 500_000.0, 10_000_000.0 if south else 0.0, 0.0
    elif proj == "tmerc":
        meridian = float(params.get("lon_0", 0.0))
        scale = float(params.get("k", params.get("k_0", 1.0)))
        easting, northing = float(params.get("x_0", 0.0)), float(params.get("y_0", 0.0))
        origin = float(params.get("lat_0", 0.0))
    else:
        return declared
    lost_shift = (
        proj == "tmerc" and abs(scale - 0.9999) < 1e-9 and easting == 500_000.0 and not towgs84
    )
    if not (named or lost_shift):
        return declared
    return vn2000(meridian, scale, easting, northing, origin)


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
    params = _params(crs)
    shift = params.get("towgs84") or [0]
    vn2000_ = _vn2000_shift(params.get("towgs84")) or round(float(shift[0]), 1) == -191.9
    if params.get("proj") == "longlat" and vn2000_:
        return "VN-2000 (EPSG:4756)"
    if params.get("proj") == "utm" and vn2000_ and "south" not in params:
        zone = int(params["zone"])
        code = {48: " (EPSG:3405)", 49: " (EPSG:3406)"}.get(zone, "")
        return f"VN-2000 / UTM zone {zone}N{code}"
    if params.get("proj") == "tmerc":
        meridian = float(params.get("lon_0", 0.0))
        scale = float(params.get("k", params.get("k_0", 1.0)))
        if abs(scale - 0.9999) < 1e-9:
            return f"{'VN-2000' if vn2000_ else '?'} / TM-3, kinh tuyến trục {_dms(meridian)}"
        zone = (meridian + 183.0) / 6.0
        utm = abs(scale - _UTM_SCALE) < 1e-9 and zone == int(zone)
        if vn2000_ and utm and float(params.get("x_0", 0.0)) == 500_000.0:
            code = {48: " (EPSG:3405)", 49: " (EPSG:3406)"}.get(int(zone), "")
            return f"VN-2000 / UTM zone {int(zone)}N{code}"
        if vn2000_:
            return f"VN-2000 / TM, kinh tuyến trục {_dms(meridian)}, k = {scale:g}"
    return crs.name if crs.name and crs.name != "unknown" else crs.to_proj4()
