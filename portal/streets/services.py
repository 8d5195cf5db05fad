"""The street layer: OpenStreetMap road lines imported from files, served by map view, and
found by name.

Data © OpenStreetMap contributors, ODbL 1.0: every map that draws them shows the attribution.
The endpoint answers GeoJSON for a bounding box rather than vector tiles: Leaflet draws GeoJSON
with no extra library, names follow the lines with leaflet-textpath (SVG), and a view of the
city's centre at street zoom is a few hundred lines; the box is snapped to a grid of tiles so
that the same views ask the same URLs, and browsers and proxies keep them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from flask import current_app
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiLineString
from sqlalchemy import delete, func, insert, select

from geo.lines import LineLimits, read_roads
from portal.errors import BadParameter
from portal.extensions import db
from portal.i18n import _
from portal.models import Street
from portal.streets import queries
from portal.text import fold, search_text

# The files beside the project (SHARED_DATA_DIR) that `flask import-streets` reads by default:
# the named centre drawn on top of the unnamed city-wide network.
DEFAULT_FILES = ("hanoi_roads2017_osm_nonames.geojson", "hanoi_center_roads_osm_20260411.geojson")
ATTRIBUTION = "© OpenStreetMap contributors"

MIN_ZOOM = 13  # below it, streets would be a grey smear under the communes: none are sent
MAX_ZOOM = 18  # past it, the lines are the same (simplification is below a centimetre)
MAX_TILES = 20  # the widest box asked, in 256-pixel tiles a side at its zoom (a 4K screen: 16)
MAX_FEATURES = 6000  # a cap on one answer: majors are kept first
MAX_AGE = 24 * 3600  # seconds: streets change by imports, not by the minute

# The first zoom each OSM class is drawn at: main roads at the city's zoom, streets at the
# ward's, alleys and paths at street level. A line of no known class (the unnamed 2017
# network) by its length: the long ones are the city's main roads.
_MAJOR = {"motorway", "trunk", "primary", "secondary"}
_MIDDLE = {"tertiary", "unclassified", "residential", "living_street", "pedestrian", "road"}


def min_zoom(highway: str | None, length_m: float = 0.0) -> int:
    """The first zoom a line of this OSM highway class (and length, if unclassed) is drawn at."""
    if highway is None:
        return 13 if length_m >= 1000 else 14 if length_m >= 300 else 15
    base = highway.removesuffix("_link")
    if base in _MAJOR:
        return 13
    if base in _MIDDLE:
        return 15
    return 16


def length_m(geom) -> float:
    """A line's length in metres, near enough for choosing a zoom (equirectangular)."""
    total = 0.0
    for line in getattr(geom, "geoms", [geom]):
        xy = np.asarray(line.coords)
        lat = math.radians(float(xy[:, 1].mean()))
        dx = np.diff(xy[:, 0]) * math.cos(lat)
        dy = np.diff(xy[:, 1])
        total += float(np.hypot(dx, dy).sum()) * 111_320
    return total


# --- import ------------------------------------------------------------------------------


@dataclass
class Imported:
    source: str
    lines: int
    named: int
    skipped: int


def import_file(path: Path, source: str | None = None) -> Imported:
    """Replace the rows of this file's source with its lines (the caller commits: one
    transaction); a file that cannot be read raises geo.features.FileProblem."""
    source = source or path.stem
    # read no more than the reader's cap (and a byte to tell it so): a huge file is refused
    # without being held in memory whole
    with path.open("rb") as file:
        data = file.read(LineLimits().max_bytes + 1)
    roads = read_roads(data)
    rows = []
    for road in roads.roads:
        geom = road.geometry
        if geom.geom_type == "LineString":
            geom = MultiLineString([geom])
        rows.append(
            {
                "osm_id": road.osm_id,
                "name": road.name,
                "name_search": fold(road.name)[:200] if road.name else None,
                "highway": road.highway,
                "min_zoom": min_zoom(road.highway, length_m(geom)),
                "source": source,
                "geom": from_shape(geom, srid=4326),
            }
        )
    db.session.execute(delete(Street).where(Street.source == source))
    if rows:
        db.session.execute(insert(Street), rows)
    named = sum(1 for r in rows if r["name"])
    return Imported(source, len(rows), named, roads.skipped)


def default_paths() -> list[Path]:
    folder = Path(current_app.config["SHARED_DATA_DIR"])
    return [folder / name for name in DEFAULT_FILES]


def is_empty() -> bool:
    return db.session.execute(select(Street.id).limit(1)).first() is None


# --- the layer, by map view --------------------------------------------------------------


def zoom_arg(value: str | None) -> int:
    """The map's zoom from the query string (whole levels; past MAX_ZOOM counts as it)."""
    try:
        zoom = int(value or "")
    except ValueError:
        raise BadParameter("z", _("Tham số z phải là một mức thu phóng từ 0 đến 22.")) from None
    if not 0 <= zoom <= 22:
        raise BadParameter("z", _("Tham số z phải là một mức thu phóng từ 0 đến 22."))
    return min(zoom, MAX_ZOOM)


def grid(zoom: int) -> float:
    """The snapping step at a zoom: one 256-pixel tile, in degrees."""
    return 360 / 2**zoom


def bbox_arg(value: str | None, zoom: int) -> tuple[float, float, float, float]:
    """minx,miny,maxx,maxy (lon/lat) snapped outward to the zoom's tile grid, or BadParameter
    naming bbox: four numbers, in order, within lon/lat, at most MAX_TILES tiles a side."""
    message = _("Tham số bbox phải là bốn số: kinh độ, vĩ độ nhỏ nhất rồi lớn nhất.")
    try:
        numbers = [float(part) for part in (value or "").split(",")]
    except ValueError:
        raise BadParameter("bbox", message) from None
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise BadParameter("bbox", message)
    minx, miny, maxx, maxy = numbers
    if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        raise BadParameter("bbox", message)
    step = grid(zoom)
    snapped = (
        math.floor(minx / step) * step,
        math.floor(miny / step) * step,
        math.ceil(maxx / step) * step,
        math.ceil(maxy / step) * step,
    )
    if zoom >= MIN_ZOOM and max(snapped[2] - snapped[0], snapped[3] - snapped[1]) > (
        MAX_TILES * step
    ):
        raise BadParameter(
            "bbox", _("Vùng bbox quá rộng cho mức thu phóng này: hãy phóng to bản đồ.")
        )
    return snapped


EMPTY = '{"type":"FeatureCollection","features":[]}'


def features(bbox_text: str | None, zoom_text: str | None) -> tuple[str, int]:
    """The layer's GeoJSON for a view (as text, built by the database) and its line count."""
    zoom = zoom_arg(zoom_text)
    bbox = bbox_arg(bbox_text, zoom)
    if zoom < MIN_ZOOM:
        return EMPTY, 0
    array, count = db.session.execute(queries.in_view(bbox, zoom, MAX_FEATURES)).one()
    return f'{{"type":"FeatureCollection","features":{array}}}', count


# --- search by name ----------------------------------------------------------------------


@dataclass(frozen=True)
class StreetMatch:
    name: str
    bbox: tuple[float, float, float, float]  # minx, miny, maxx, maxy of its segments
    lat: float  # a point on the street near its middle
    lon: float


CLUSTER_DEGREES = 0.005  # about 500 m: segments of one name further apart are other streets


def strip_prefix(folded: str) -> str:
    """A folded street name or query without the word a street's name starts with."""
    first, _space, rest = folded.partition(" ")
    return rest if rest and first in queries.PREFIXES else folded


def search(text: str, limit: int = 5) -> list[StreetMatch]:
    """Named streets by name, ignoring diacritics and the "phố"/"đường"/"ngõ" before it."""
    folded = search_text(text or "")
    if folded is None or folded in queries.PREFIXES:
        return []
    stripped = strip_prefix(folded)
    if len(stripped) < 2:  # "ngõ 1": the number alone would match every number
        stripped = folded
    rows = db.session.execute(queries.matching(folded, stripped, limit, CLUSTER_DEGREES)).all()
    return [
        StreetMatch(row.name, (row.minx, row.miny, row.maxx, row.maxy), row.lat, row.lon)
        for row in rows
    ]


def count() -> int:
    return db.session.execute(select(func.count()).select_from(Street)).scalar_one()
