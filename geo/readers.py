"""Reading uploaded boundary files of any supported format, within limits that protect the server.

GeoJSON is read by geo.features (its structure checked position by position); zipped Shapefiles,
GeoPackages and KML by GDAL through pyogrio, after our own checks: zip entries are counted,
their paths and sizes checked before anything is extracted, and KML is parsed first by a parser
that refuses XML entities. Every refusal is a FileProblem: nothing of the file is used.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import defusedxml.ElementTree as SafeET
import pyogrio
import pyogrio.errors
import shapely
from defusedxml import DefusedXmlException
from pyproj import CRS

from geo import crs as crs_tools
from geo.features import FileProblem, RawFeature, ReadResult, build, geojson_features, parse_shape


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 50 * 1024 * 1024
    max_features: int = 20_000
    max_zip_entries: int = 50
    max_uncompressed: int = 200 * 1024 * 1024
    max_ratio: float = 100.0  # uncompressed size / compressed size


FORMATS = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".zip": "zip",
    ".gpkg": "gpkg",
    ".kml": "kml",
    ".kmz": "zip",
    ".shp": "shp",
}


def read_file(
    data: bytes,
    filename: str,
    *,
    crs_key: str = "auto",
    require_code: bool = True,
    limits: Limits = Limits(),
    progress: Callable[[int, int], None] | None = None,
) -> ReadResult:
    """Read and check every feature of an upload, converting to WGS 84 (see geo.features)."""
    from geo.features import Problem

    try:
        raw, declared = _read_raw(data, filename, limits)
        if len(raw) > limits.max_features:
            raise FileProblem("too_many_features", f"{len(raw)} > {limits.max_features}")
        chosen = None if crs_key == "auto" else crs_tools.crs_for(crs_key)
    except FileProblem as exc:
        return ReadResult(problems=[Problem(0, None, exc.kind, exc.detail)])
    except ValueError as exc:
        return ReadResult(problems=[Problem(0, None, "crs_unknown", str(exc))])
    return build(raw, chosen or declared, require_code=require_code, progress=progress)


def _read_raw(data: bytes, filename: str, limits: Limits) -> tuple[list[RawFeature], CRS | None]:
    if len(data) > limits.max_bytes:
        raise FileProblem("file_too_large", f"{len(data)} > {limits.max_bytes} bytes")
    if not data.strip():
        raise FileProblem("empty_file")
    kind = FORMATS.get(Path(filename).suffix.lower())
    if kind is None:
        raise FileProblem("unknown_format", Path(filename).suffix or filename)
    if kind == "geojson":
        return geojson_features(data)
    with tempfile.TemporaryDirectory(prefix="upload-") as folder:
        folder = Path(folder)
        if kind == "zip":
            path = _extract_zip(data, folder, limits)
        else:
            path = folder / f"upload{Path(filename).suffix.lower()}"
            path.write_bytes(data)
        if path.suffix.lower() in (".geojson", ".json"):
            return geojson_features(path.read_bytes())
        if path.suffix.lower() == ".kml":
            _check_xml(path.read_bytes())
        return _read_with_gdal(path)


def _extract_zip(data: bytes, folder: Path, limits: Limits) -> Path:
    """Check a zip before extracting it, then extract what is safe; the path of the data file."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise FileProblem("bad_zip") from None
    entries = [e for e in archive.infolist() if not e.is_dir()]
    if len(entries) > limits.max_zip_entries:
        raise FileProblem("too_many_zip_entries", f"{len(entries)} > {limits.max_zip_entries}")
    declared = sum(e.file_size for e in entries)
    if declared > limits.max_uncompressed:
        raise FileProblem("zip_too_large", f"{declared} > {limits.max_uncompressed} bytes")
    compressed = max(sum(e.compress_size for e in entries), 1)
    if declared / compressed > limits.max_ratio:
        raise FileProblem("zip_bomb", f"{declared / compressed:.0f}:1 > {limits.max_ratio:.0f}:1")
    for entry in entries:
        name = entry.filename.replace("\\", "/")
        parts = PurePosixPath(name).parts
        if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
            raise FileProblem("zip_unsafe_path", entry.filename)
    written = 0
    for entry in entries:
        target = folder / PurePosixPath(entry.filename.replace("\\", "/")).name
        # the sizes in the zip's directory can lie: count what actually comes out
        with archive.open(entry) as source, open(target, "wb") as sink:
            while chunk := source.read(1 << 20):
                written += len(chunk)
                if written > limits.max_uncompressed:
                    raise FileProblem("zip_too_large", f"> {limits.max_uncompressed} bytes")
                sink.write(chunk)
    for suffix in (".shp", ".gpkg", ".kml", ".geojson", ".json"):
        found = sorted(p for p in folder.iterdir() if p.suffix.lower() == suffix)
        if found:
            return found[0]
    raise FileProblem("zip_without_data", ", ".join(sorted(e.filename for e in entries)))


def _check_xml(data: bytes) -> None:
    """KML is XML: refuse DTDs and entities (billion laughs, external entities) before GDAL."""
    try:
        SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise FileProblem("xml_entities", type(exc).__name__) from None
    except SafeET.ParseError as exc:
        raise FileProblem("bad_xml", str(exc)) from None


def _read_with_gdal(path: Path) -> tuple[list[RawFeature], CRS | None]:
    try:
        layers = pyogrio.list_layers(path)
        if len(layers) == 0:
            raise FileProblem("no_features")
        # the first layer with polygons (a GeoPackage may hold several)
        layer = next((name for name, gtype in layers if gtype and "Polygon" in gtype), layers[0][0])
        meta, _fids, geometries, values = pyogrio.raw.read(path, layer=layer)
    except pyogrio.errors.DataSourceError as exc:
        raise FileProblem("unreadable", str(exc).splitlines()[0]) from None
    declared = crs_tools.recognise(CRS.from_user_input(meta["crs"])) if meta.get("crs") else None
    if path.suffix.lower() == ".kml":
        declared = crs_tools.WGS84  # KML is always WGS 84
    fields = list(meta["fields"])
    raw = []
    for i, wkb in enumerate(geometries):
        props = {name: _plain(values[j][i]) for j, name in enumerate(fields)}
        geom = shapely.from_wkb(wkb) if wkb is not None else None
        geom, kind, detail = parse_shape(geom)
        raw.append(RawFeature(i + 1, props, geom, (kind, detail) if kind else None))
    if not raw:
        raise FileProblem("no_features")
    return raw, declared


def _plain(value):
    """A JSON-friendly property value from numpy."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, float) and value != value:  # NaN: an empty field
        return None
    return value
