"""geo.crs: VN-2000 recognised however a file spells it, and converted within 5 cm of pyproj's
reference transformation (EPSG:6960 for every VN-2000 CRS of the EPSG registry)."""

from __future__ import annotations

import contextlib
import json
import sqlite3

import numpy as np
import pyogrio
import pyogrio.raw
import pytest
import shapely
from pyproj import CRS, Geod, Transformer
from pyproj.crs import CoordinateOperation
from pyproj.transformer import TransformerGroup

from geo import crs as crs_tools
from geo.readers import read_file

GEOD = Geod(ellps="WGS84")

# Hanoi and around: a grid of known points (WGS 84), from Ba Vì in the west to Gia Lâm
LONS = np.linspace(105.30, 106.00, 6)
LATS = np.linspace(20.60, 21.35, 6)
KNOWN = np.array([(x, y) for x in LONS for y in LATS])

# EPSG:6960's rotations as a .prj or PROJ string often carries them: in +towgs84 (position
# vector) unchanged from EPSG's coordinate-frame values, i.e. with their signs reversed
FRAME = "-191.90441429,-39.30318279,-111.45032835,-0.00928836,0.01975479,-0.00427372,0.252906278"
VECTOR = "-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278"
TM = "+proj=tmerc +lat_0=0 +lon_0={lon_0} +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 +units=m"


def wkt1(towgs84: str | None, datum="Vietnam_2000", lon_0=105, name="VN-2000 / TM-3 105-00"):
    shift = f",TOWGS84[{towgs84}]" if towgs84 else ""
    return (
        f'PROJCS["{name}",GEOGCS["{datum}",DATUM["{datum}",'
        f'SPHEROID["WGS 84",6378137,298.257223563]{shift}],PRIMEM["Greenwich",0],'
        'UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
        f'PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",{lon_0}],'
        'PARAMETER["scale_factor",0.9999],PARAMETER["false_easting",500000],'
        'PARAMETER["false_northing",0],UNIT["metre",1]]'
    )


def esri(datum="D_Vietnam_2000", name="VN_2000_TM3_105", lon_0=105.0, scale=0.9999):
    return (
        f'PROJCS["{name}",GEOGCS["GCS_{datum[2:]}",DATUM["{datum}",'
        'SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],'
        'UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
        'PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],'
        f'PARAMETER["Central_Meridian",{lon_0}],PARAMETER["Scale_Factor",{scale}],'
        'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
    )


def bound_wkt2(method: str, code: int, rotations: tuple[float, float, float]) -> str:
    """EPSG:5897 bound to a Helmert transformation written in WKT2 with the given method."""
    parameters = [
        ("X-axis translation", -191.90441429, 8605),
        ("Y-axis translation", -39.30318279, 8606),
        ("Z-axis translation", -111.45032835, 8607),
        ("X-axis rotation", rotations[0], 8608),
        ("Y-axis rotation", rotations[1], 8609),
        ("Z-axis rotation", rotations[2], 8610),
        ("Scale difference", 1.000000252906278, 8611),
    ]
    return (
        f"BOUNDCRS[SOURCECRS[{CRS.from_epsg(5897).to_wkt()}],"
        f"TARGETCRS[{CRS.from_epsg(4326).to_wkt()}],"
        f'ABRIDGEDTRANSFORMATION["VN-2000 to WGS 84",METHOD["{method}",ID["EPSG",{code}]],'
        + ",".join(f'PARAMETER["{n}",{v},ID["EPSG",{i}]]' for n, v, i in parameters)
        + "]]"
    )


# spelling -> the EPSG CRS that pyproj converts with the reference transformation
SPELLINGS = {
    "EPSG:5897": ("EPSG:5897", "EPSG:5897"),
    "urn": ("urn:ogc:def:crs:EPSG::5897", "EPSG:5897"),
    "TM-3 key": ("TM3:105.0", "EPSG:5897"),
    "WKT1, frame rotations in TOWGS84": (wkt1(FRAME), "EPSG:5897"),
    "WKT1, vector rotations": (wkt1(VECTOR), "EPSG:5897"),
    "WKT1, unnamed datum, frame rotations": (wkt1(FRAME, datum="unknown"), "EPSG:5897"),
    "WKT1, unnamed datum, vector rotations": (wkt1(VECTOR, datum="unknown"), "EPSG:5897"),
    "WKT1 named VN2000, no shift": (wkt1(None, datum="VN2000", name="Ha Noi"), "EPSG:5897"),
    "ESRI .prj": (esri(), "EPSG:5897"),
    "ESRI .prj from a WGS 84 template": (esri("D_WGS_1984", "WGS_1984_TM_105"), "EPSG:5897"),
    "PROJ, frame rotations": (f"{TM.format(lon_0=105)} +towgs84={FRAME}", "EPSG:5897"),
    "PROJ, vector rotations": (f"{TM.format(lon_0=105)} +towgs84={VECTOR}", "EPSG:5897"),
    "PROJ, no shift": (TM.format(lon_0=105), "EPSG:5897"),
    "WKT2, coordinate frame (EPSG's own)": (
        bound_wkt2("Coordinate Frame rotation", 9607, (-0.00928836, 0.01975479, -0.00427372)),
        "EPSG:5897",
    ),
    "WKT2, position vector": (
        bound_wkt2("Position Vector transformation", 9606, (0.00928836, -0.01975479, 0.00427372)),
        "EPSG:5897",
    ),
    "WKT2, position vector with frame values": (
        bound_wkt2("Position Vector transformation", 9606, (-0.00928836, 0.01975479, -0.00427372)),
        "EPSG:5897",
    ),
    "TM-3 105°30', PROJ, frame rotations": (
        f"{TM.format(lon_0=105.5)} +towgs84={FRAME}",
        "EPSG:9209",
    ),
    "TM-3 105°30', WKT1, vector rotations": (wkt1(VECTOR, lon_0=105.5), "EPSG:9209"),
    "TM-3 105°30', EPSG:9209": ("EPSG:9209", "EPSG:9209"),
    "UTM 48N, EPSG:3405": ("EPSG:3405", "EPSG:3405"),
    "UTM 48N, ESRI .prj": (
        esri(name="VN_2000_UTM_Zone_48N", lon_0=105.0, scale=0.9996),
        "EPSG:3405",
    ),
    "UTM 48N, PROJ, frame rotations": (
        f"+proj=utm +zone=48 +ellps=WGS84 +towgs84={FRAME} +units=m",
        "EPSG:3405",
    ),
    "longitude/latitude, EPSG:4756": ("EPSG:4756", "EPSG:4756"),
    "longitude/latitude, PROJ, frame rotations": (
        f"+proj=longlat +ellps=WGS84 +towgs84={FRAME}",
        "EPSG:4756",
    ),
}


def reference(points: np.ndarray, epsg: str) -> np.ndarray:
    """The known points in the CRS, by pyproj's reference transformation (EPSG:6960)."""
    to = Transformer.from_crs("EPSG:4326", epsg, always_xy=True)
    return np.column_stack(to.transform(points[:, 0], points[:, 1]))


def metres_off(lonlat: np.ndarray, truth: np.ndarray = KNOWN) -> float:
    """The largest distance (metres, on the spheroid) between two arrays of lon/lat points."""
    _az, _back, dist = GEOD.inv(lonlat[:, 0], lonlat[:, 1], truth[:, 0], truth[:, 1])
    return float(np.max(dist))


def convert(crs: CRS, xy: np.ndarray) -> np.ndarray:
    to = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return np.column_stack(to.transform(xy[:, 0], xy[:, 1]))


def test_the_one_transformation_is_epsg_6960_as_pyproj_defines_it():
    params = {
        p["name"]: p["value"]
        for p in CoordinateOperation.from_epsg(6960).to_json_dict()["parameters"]
    }
    assert (
        params["X-axis translation"],
        params["Y-axis translation"],
        params["Z-axis translation"],
    ) == crs_tools.VN2000_TRANSLATION
    assert (
        params["X-axis rotation"],
        params["Y-axis rotation"],
        params["Z-axis rotation"],
    ) == crs_tools.VN2000_FRAME_ROTATION
    # and it is the transformation pyproj ranks first for VN-2000
    best = TransformerGroup("EPSG:4756", "EPSG:4326").transformers[0]
    assert best.to_json_dict()["id"] == {"authority": "EPSG", "code": 6960}


@pytest.mark.parametrize("case", sorted(SPELLINGS))
def test_every_spelling_lands_within_5_cm_of_the_reference(case):
    spelling, epsg = SPELLINGS[case]
    xy = reference(KNOWN, epsg)
    crs = crs_tools.crs_for(spelling)
    assert metres_off(convert(crs, xy)) < 0.05
    assert crs_tools.describe(crs).startswith("VN-2000")


@pytest.mark.parametrize(
    "case",
    [
        "PROJ, frame rotations",
        "WKT2, position vector with frame values",
        "UTM 48N, PROJ, frame rotations",
        "TM-3 105°30', PROJ, frame rotations",
    ],
)
def test_a_reversed_sign_spelling_is_0_75_m_off_taken_literally(case):
    """What the recognition saves: PROJ itself, given these spellings, lands 0.75 m off."""
    spelling, epsg = SPELLINGS[case]
    literal = convert(CRS.from_user_input(spelling), reference(KNOWN, epsg))
    assert 0.6 < metres_off(literal) < 0.9


def test_other_crs_are_kept_as_declared():
    for code in ("EPSG:4326", "EPSG:32648", "EPSG:3857"):
        assert crs_tools.recognise(CRS.from_user_input(code)) == CRS.from_user_input(code)
    # HN-72 (Krasovsky's ellipsoid) in a TM-3 zone: not VN-2000, not ours to guess
    hn72 = CRS.from_proj4(
        "+proj=tmerc +lon_0=105 +k=0.9999 +x_0=500000 +ellps=krass "
        "+towgs84=-17.51,-108.32,-62.39 +units=m"
    )
    assert crs_tools.recognise(hn72) is hn72
    # a WGS 84 TM zone with a shift of its own is what it says
    other = CRS.from_proj4(f"{TM.format(lon_0=105)} +towgs84=1,2,3,0,0,0,0")
    assert crs_tools.recognise(other) is other


# --- through a file: a GeoPackage as GDAL writes and reports it -------------------------------


def ring(epsg: str) -> shapely.Polygon:
    """A polygon whose outline runs through every known point (around the grid's edge, then in
    and out along its rows), in the CRS's coordinates."""
    order = []
    for i, lon in enumerate(LONS):
        column = [(lon, lat) for lat in LATS]
        order.extend(column if i % 2 == 0 else column[::-1])
    # a comb: up and down the columns, then back along a line south of the grid
    points = np.array(order)
    south = np.array([(LONS[-1] + 0.01, LATS[0] - 0.05), (LONS[0] - 0.01, LATS[0] - 0.05)])
    path = np.vstack([points, south])
    xy = reference(path, epsg)
    return shapely.Polygon(xy)


def geopackage(tmp_path, spelling: str, epsg: str):
    path = tmp_path / "lang.gpkg"
    crs = spelling if not spelling.startswith("TM3:") else crs_tools.crs_for(spelling).to_wkt()
    pyogrio.raw.write(
        path,
        np.array([shapely.to_wkb(ring(epsg))], dtype=object),
        [np.array(["Thôn Đông"], dtype=object), np.array(["T1"], dtype=object)],
        fields=["name", "code"],
        geometry_type="Polygon",
        crs=crs,
        driver="GPKG",
    )
    return path


def read_back(path) -> np.ndarray:
    result = read_file(path.read_bytes(), path.name, require_code=False)
    assert result.problems == []
    assert result.source_crs.startswith("VN-2000"), result.source_crs
    return shapely.get_coordinates(result.valid[0].geometry)


def on_grid(coords: np.ndarray) -> np.ndarray:
    """The read points nearest each known point, in the known points' order."""
    found = []
    for x, y in KNOWN:
        nearest = np.argmin((coords[:, 0] - x) ** 2 + (coords[:, 1] - y) ** 2)
        found.append(coords[nearest])
    return np.array(found)


GPKG_CASES = [
    case
    for case in sorted(SPELLINGS)
    if "4756" not in SPELLINGS[case][1] and not case.startswith("urn")
]


@pytest.mark.parametrize("case", GPKG_CASES)
def test_a_geopackage_in_every_spelling_lands_within_5_cm(tmp_path, case):
    spelling, epsg = SPELLINGS[case]
    path = geopackage(tmp_path, spelling, epsg)
    assert metres_off(on_grid(read_back(path))) < 0.05


@pytest.mark.filterwarnings("ignore:You will likely lose:UserWarning")
def test_the_hanoi_tm3_geopackage_gdal_reports_with_reversed_signs(tmp_path):
    """The issue's file: a GeoPackage made by another tool, its CRS a TM-3 105°00' WKT with
    EPSG:6960's frame rotations in TOWGS84 and no datum name. GDAL reports the rotations with
    their signs turned over, and PROJ, taking that CRS as reported, lands far off."""
    path = geopackage(tmp_path, "EPSG:5897", "EPSG:5897")
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute(
            "UPDATE gpkg_spatial_ref_sys SET definition = ?, organization = 'NONE'"
            " WHERE srs_id = 5897",
            (wkt1(FRAME, datum="unknown"),),
        )
        conn.commit()
    reported = CRS.from_user_input(pyogrio.read_info(path)["crs"])
    assert reported.to_dict()["towgs84"][3:6] == [0.00928836, -0.01975479, 0.00427372]
    literal = convert(reported, reference(KNOWN, "EPSG:5897"))
    assert metres_off(literal) > 0.5  # 0.75 m or, with the shift dropped, 224 m
    assert metres_off(on_grid(read_back(path))) < 0.05  # recognised: within 5 cm


def test_a_geojson_crs_member_in_a_proj_string_is_recognised():
    corners = KNOWN[[0, 6, 7, 1]]  # (105.30, 20.60), (105.44, 20.60), (105.44, 20.75), ...
    square = shapely.Polygon(reference(corners, "EPSG:5897"))
    data = json.dumps(
        {
            "type": "FeatureCollection",
            "crs": {
                "type": "name",
                "properties": {"name": f"{TM.format(lon_0=105)} +towgs84={FRAME}"},
            },
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": "T1", "name": "Thôn Đông"},
                    "geometry": shapely.geometry.mapping(square),
                }
            ],
        }
    ).encode()
    result = read_file(data, "lang.geojson")
    assert result.problems == []
    coords = shapely.get_coordinates(result.valid[0].geometry)[:4]
    assert metres_off(coords, corners) < 0.05
