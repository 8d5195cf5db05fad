"""Reading uploaded boundary files of any supported format, within limits that protect the server.

Every upload is parsed in the limited child process of geo.sandbox (no network, CPU and memory
limits), never in a web worker. There, GeoJSON is read by geo.features (its structure checked
position by position); zipped Shapefiles, GeoPackages and KML by GDAL through pyogrio with only
the one driver their type calls for, after our own checks: zip entries are counted, their paths
and sizes checked before anything is extracted, KML is parsed first by a parser that refuses XML
entities, and a GeoPackage's layers must be plain tables. Every refusal is a FileProblem: nothing
of the file is used.
"""

from __future__ import annotations

import base64
import contextlib
import io
import sqlite3
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

import defusedxml.ElementTree as SafeET
import shapely
from defusedxml import DefusedXmlException
from pyproj import CRS

from geo import crs as crs_tools
from geo import sandbox
from geo.features import (
    VILLAGE_MAX_VERTICES,
    Feature,
    FileProblem,
    Problem,
    RawFeature,
    ReadResult,
    build,
    geojson_features,
    parse_shape,
)
from geo.partition import as_multipolygon


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 50 * 1024 * 1024
    max_features: int = 20_000
    max_zip_entries: int = 50
    max_uncompressed: int = 200 * 1024 * 1024
    max_ratio: float = 100.0  # uncompressed size / compressed size
    # per feature: the village figure unless the caller knows the level (MAX_VERTICES)
    max_vertices: int = VILLAGE_MAX_VERTICES


# The one GDAL driver each file type is opened with.
DRIVERS = {".shp": "ESRI Shapefile", ".gpkg": "GPKG", ".kml": "KML"}

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
    layer: str | None = None,
    process: sandbox.ProcessLimits = sandbox.DEFAULT_LIMITS,
    progress: Callable[[int, int], None] | None = None,
) -> ReadResult:
    """Read and check every feature of an upload, converting to WGS 84 (see geo.features).

    `layer` names the layer to read in a file that has several. What can be refused without
    parsing is refused here; everything else runs in the limited child process of geo.sandbox,
    and comes back as plain data.
    """
    try:
        _quick_checks(data, filename, limits)
        if crs_key != "auto":
            crs_tools.crs_for(crs_key)  # an unknown key is the planner's mistake: say so now
    except FileProblem as exc:
        return ReadResult(problems=[Problem(0, None, exc.kind, exc.detail)])
    except ValueError as exc:
        return ReadResult(problems=[Problem(0, None, "crs_unknown", str(exc))])
    args = {
        "filename": filename,
        "crs_key": crs_key,
        "require_code": require_code,
        "limits": asdict(limits),
        "layer": layer,
    }
    try:
        answer = sandbox.run("boundaries", data, args, limits=process, progress=progress)
    except sandbox.SandboxFailure as exc:
        return ReadResult(problems=[Problem(0, None, exc.kind, exc.detail)])
    return _result_from_json(answer)


def _quick_checks(data: bytes, filename: str, limits: Limits) -> str:
    if len(data) > limits.max_bytes:
        raise FileProblem("file_too_large", f"{len(data)} > {limits.max_bytes} bytes")
    if not data.strip():
        raise FileProblem("empty_file")
    kind = FORMATS.get(Path(filename).suffix.lower())
    if kind is None:
        raise FileProblem("unknown_format", Path(filename).suffix or filename)
    return kind


def read_in_child(data: bytes, args: dict, progress: Callable[[int, int], None]) -> dict:
    """The sandbox task: read and check the file, answered as JSON (see _result_to_json)."""
    sandbox.require_child()
    limits = Limits(**args["limits"])
    notes: list[dict] = []
    try:
        raw, declared = _read_raw(data, args["filename"], limits, args.get("layer"), notes)
        if len(raw) > limits.max_features:
            raise FileProblem("too_many_features", f"{len(raw)} > {limits.max_features}")
        crs_key = args["crs_key"]
        chosen = None if crs_key == "auto" else crs_tools.crs_for(crs_key)
    except FileProblem as exc:
        result = ReadResult(problems=[Problem(0, None, exc.kind, exc.detail)])
    except ValueError as exc:
        result = ReadResult(problems=[Problem(0, None, "crs_unknown", str(exc))])
    else:
        source = chosen or declared
        result = build(
            raw,
            source,
            require_code=args["require_code"],
            progress=progress,
            max_vertices=limits.max_vertices,
        )
    result.notes = notes
    return _result_to_json(result)


def _wkb(geom) -> str | None:
    return None if geom is None else base64.b64encode(shapely.to_wkb(geom)).decode()


def _unwkb(text: str | None):
    return None if text is None else as_multipolygon(shapely.from_wkb(base64.b64decode(text)))


def _result_to_json(result: ReadResult) -> dict:
    return {
        "source_crs": result.source_crs,
        "notes": result.notes,
        "features": [
            {
                "index": f.index,
                "code": f.code,
                "name": f.name,
                "name_en": f.name_en,
                "properties": _json_safe(f.properties),
                "geometry": _wkb(f.geometry),
                "repaired": _wkb(f.repaired),
            }
            for f in result.features
        ],
        "problems": [
            {**asdict(p), "where": list(p.where) if p.where else None} for p in result.problems
        ],
    }


def _result_from_json(answer: dict) -> ReadResult:
    """Rebuild the child's answer, trusting nothing in it but its shape."""
    features = [
        Feature(
            int(f["index"]),
            _text(f["code"]),
            _text(f["name"]),
            _text(f["name_en"]),
            f["properties"] if isinstance(f["properties"], dict) else {},
            _unwkb(f["geometry"]),
            _unwkb(f["repaired"]),
        )
        for f in answer["features"]
    ]
    problems = [
        Problem(
            int(p["index"]),
            _text(p["code"]),
            str(p["kind"]),
            str(p["detail"] or ""),
            (float(p["where"][0]), float(p["where"][1])) if p["where"] else None,
            bool(p["repairable"]),
        )
        for p in answer["problems"]
    ]
    result = ReadResult(features, problems, str(answer["source_crs"]))
    result.notes = [n for n in answer.get("notes", []) if isinstance(n, dict)]
    return result


def _text(value) -> str | None:
    return None if value is None else str(value)


def _json_safe(value):
    """Properties as JSON can carry them (dates and the like become text)."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _read_raw(
    data: bytes, filename: str, limits: Limits, layer: str | None, notes: list[dict]
) -> tuple[list[RawFeature], CRS | None]:
    kind = _quick_checks(data, filename, limits)
    if kind == "geojson":
        return geojson_features(data)
    with tempfile.TemporaryDirectory(prefix="upload-") as folder:
        folder = Path(folder)
        if kind == "zip":
            path = _extract_zip(data, folder, limits)
        else:
            path = folder / f"upload{Path(filename).suffix.lower()}"
            path.write_bytes(data)
        suffix = path.suffix.lower()
        if suffix in (".geojson", ".json"):
            return geojson_features(path.read_bytes())
        if suffix == ".kml":
            _check_xml(path.read_bytes())
        if suffix == ".gpkg":
            _check_geopackage(path)
        # only the driver the format calls for: GDAL would otherwise pick one by content
        sandbox.keep_only_drivers((DRIVERS[suffix],))
        return _read_with_gdal(path, layer, notes)


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


def _check_geopackage(path: Path) -> None:
    """A GeoPackage is read as data only: its layers must be plain tables.

    A layer that is a view, or a table with generated columns, would run SQL written by whoever
    made the file; GDAL never writes, so the file's triggers cannot run. Read with SQLite itself,
    read-only and immutable, before GDAL sees the file.
    """
    try:
        with contextlib.closing(
            sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        ) as conn:
            conn.execute("PRAGMA trusted_schema = OFF")
            objects = dict(conn.execute("SELECT name, type FROM sqlite_master"))
            if "gpkg_contents" not in objects:
                raise FileProblem("not_geopackage")
            layers = [
                name
                for (name,) in conn.execute(
                    "SELECT table_name FROM gpkg_contents WHERE data_type = 'features'"
                )
            ]
            for name in layers:
                if objects.get(name) != "table":
                    raise FileProblem("gpkg_sql", f"{name}: {objects.get(name) or 'missing'}")
                # table_xinfo's hidden is 2 or 3 for generated columns: SQL run on every read
                columns = conn.execute("SELECT * FROM pragma_table_xinfo(?)", (name,)).fetchall()
                if any(column[6] in (2, 3) for column in columns):
                    raise FileProblem("gpkg_sql", f"{name}: generated columns")
    except sqlite3.DatabaseError as exc:
        raise FileProblem("unreadable", str(exc)) from None


def _read_with_gdal(
    path: Path, layer: str | None, notes: list[dict]
) -> tuple[list[RawFeature], CRS | None]:
    """Read one polygon layer: the one asked for, or the only one, or the first (named in notes)."""
    sandbox.require_child()  # GDAL opens a file from outside only in the confined child
    import pyogrio
    import pyogrio.errors
    import pyogrio.raw

    try:
        layers = [(str(name), gtype) for name, gtype in pyogrio.list_layers(path)]
        if not layers:
            raise FileProblem("no_features")
        with_polygons = [name for name, gtype in layers if gtype and "Polygon" in gtype]
        if layer is not None:
            if layer not in {name for name, _gtype in layers}:
                raise FileProblem("no_such_layer", f"{layer} ({', '.join(n for n, _ in layers)})")
            chosen = layer
        elif with_polygons:
            chosen = with_polygons[0]
        elif any(gtype for _name, gtype in layers):
            chosen = next(name for name, gtype in layers if gtype)
        else:
            raise FileProblem("no_geometry_layer", ", ".join(name for name, _ in layers))
        if len(with_polygons) > 1 or (layer is None and len(layers) > 1):
            notes.append({"kind": "layers", "chosen": chosen, "layers": [n for n, _ in layers]})
        meta, _fids, geometries, values = pyogrio.raw.read(path, layer=chosen)
    except pyogrio.errors.DataSourceError as exc:
        raise FileProblem("unreadable", str(exc).splitlines()[0]) from None
    except pyogrio.errors.DataLayerError as exc:
        raise FileProblem("unreadable", str(exc).splitlines()[0]) from None
    if geometries is None:
        raise FileProblem("no_geometry_layer", chosen)
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
