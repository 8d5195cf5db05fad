"""Reading a GPS track (GPX, as phone apps such as OsmAnd and GPS loggers write it) within limits.

A GPX file comes from outside, so it is read like a boundary upload: in geo.sandbox's confined
child (no network, CPU and memory limits), never in a web worker. There:

1. the size is checked, then the XML is parsed by defusedxml, which refuses any DTD, entity
   declaration or external reference. This comes BEFORE GDAL because GDAL's GPX driver parses
   with expat, which expands internal entities (a "billion laughs" file of a few kilobytes grows
   to gigabytes) and is the part of GDAL that would meet an external entity pointing at
   /etc/passwd or an http:// address; after defusedxml has seen the whole document, GDAL only
   ever gets plain, entity-free XML. The same pass checks that the root element is <gpx>, counts
   points and segments (refusing too many before GDAL builds anything) and checks each point's
   lat/lon, so a problem can name its line;
2. GDAL reads the file with its GPX driver only (every other driver is deregistered in the child,
   so a KML, VRT or GeoJSON named .gpx is never opened by the driver its content would pick),
   from the `track_points` layer (one point per <trkpt>, with its track, segment and time), or
   `route_points` for a file with a route and no track;
3. one line per track segment (2-D, lon/lat): repeated points are merged, a segment of one point
   is dropped, and every point must lie in Vietnam.

Every refusal is a TrackProblem with a stable code (listed in PROBLEMS); nothing of a refused file
is used. The limits live in Limits.
"""

from __future__ import annotations

import base64
import io
import math
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import defusedxml.ElementTree as SafeET
import shapely
from defusedxml import DefusedXmlException
from shapely.geometry import LineString, MultiLineString

from geo import sandbox
from geo.features import VIETNAM_EXTENT

# What can be wrong with an uploaded track (the portal says each in words).
PROBLEMS = (
    "empty_file",
    "too_large",
    "not_gpx_name",  # the file's name does not end in .gpx
    "not_xml",  # not well-formed XML (detail: where the parser stopped)
    "xml_entities",  # a DTD or entity declaration (billion laughs, XXE): refused for safety
    "not_gpx",  # XML, but its root is not <gpx> (a KML, an SVG…)
    "bad_point",  # a point without a usable lat/lon
    "too_many_points",
    "too_many_segments",
    "no_track",  # no track or route with two points or more (only waypoints, or nothing)
    "outside_vietnam",
    "unreadable",  # GDAL could not read what defusedxml accepted
    # the confined child did not answer (geo.sandbox.SandboxFailure kinds)
    "reader_timeout",
    "reader_memory",
    "reader_crashed",
    "reader_output",
)


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 20 * 1024 * 1024  # a day of one-second logging is a few MB
    max_points: int = 200_000
    max_segments: int = 1_000


DEFAULT_LIMITS = Limits()


class TrackProblem(Exception):
    """Why a GPX file is refused: code (one of PROBLEMS), with the line of the file or the
    segment (numbered from 1 in the order of the file) when known."""

    def __init__(
        self, code: str, detail: str = "", *, line: int | None = None, segment: int | None = None
    ):
        super().__init__(code, detail)
        self.code = code
        self.detail = detail
        self.line = line
        self.segment = segment

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "detail": self.detail,
            "line": self.line,
            "segment": self.segment,
        }


@dataclass
class TrackRead:
    """A track as read: its line (lon/lat, one part per segment), or the problem that refused it."""

    line: MultiLineString | None = None
    points: int = 0
    started_at: datetime | None = None
    ended_at: datetime | None = None
    dropped_segments: int = 0  # segments of a single point, left out
    problem: TrackProblem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None and self.line is not None


def read_gpx(
    data: bytes,
    filename: str,
    *,
    limits: Limits = DEFAULT_LIMITS,
    process: sandbox.ProcessLimits = sandbox.DEFAULT_LIMITS,
    progress: Callable[[int, int], None] | None = None,
) -> TrackRead:
    """Read a GPX track in geo.sandbox's confined child; what can be refused unread is refused
    here."""
    problem = first_look(data, filename, limits)
    if problem:
        return TrackRead(problem=problem)
    try:
        answer = sandbox.run(
            "tracks",
            data,
            {"limits": asdict(limits)},
            drivers=("GPX",),  # deregistered before the child reads a byte
            limits=process,
            progress=progress,
        )
    except sandbox.SandboxFailure as exc:
        return TrackRead(problem=TrackProblem(exc.kind, exc.detail))
    return _from_json(answer)


def first_look(data: bytes, filename: str, limits: Limits = DEFAULT_LIMITS) -> TrackProblem | None:
    """What can be refused without parsing: size, emptiness, the file's name."""
    if len(data) > limits.max_bytes:
        return TrackProblem("too_large", f"{len(data)} > {limits.max_bytes}")
    if not data.strip():
        return TrackProblem("empty_file")
    suffix = Path(filename or "").suffix
    if suffix.lower() != ".gpx":
        return TrackProblem("not_gpx_name", suffix or filename or "")
    return None


def read_in_child(data: bytes, args: dict, progress: Callable[[int, int], None]) -> dict:
    """The sandbox task: check and read the file, answered as JSON (see _from_json)."""
    sandbox.require_child()
    limits = Limits(**args["limits"])
    try:
        if len(data) > limits.max_bytes:
            raise TrackProblem("too_large", f"{len(data)} > {limits.max_bytes}")
        check_xml(data, limits)
        track = _read_with_gdal(data, progress)
    except TrackProblem as exc:
        return {"problem": exc.as_dict()}
    return {
        "line": base64.b64encode(shapely.to_wkb(track.line)).decode(),
        "points": track.points,
        "started_at": track.started_at.isoformat() if track.started_at else None,
        "ended_at": track.ended_at.isoformat() if track.ended_at else None,
        "dropped_segments": track.dropped_segments,
    }


def _from_json(answer: dict) -> TrackRead:
    """Rebuild the child's answer, trusting nothing in it but its shape."""
    if answer.get("problem"):
        p = answer["problem"]
        code = str(p.get("code"))
        return TrackRead(
            problem=TrackProblem(
                code if code in PROBLEMS else "unreadable",
                str(p.get("detail") or ""),
                line=int(p["line"]) if p.get("line") is not None else None,
                segment=int(p["segment"]) if p.get("segment") is not None else None,
            )
        )
    line = shapely.from_wkb(base64.b64decode(answer["line"]))
    if not isinstance(line, MultiLineString) or line.is_empty:
        return TrackRead(problem=TrackProblem("unreadable", "answer"))
    return TrackRead(
        line=line,
        points=int(answer["points"]),
        started_at=_time(answer.get("started_at")),
        ended_at=_time(answer.get("ended_at")),
        dropped_segments=int(answer.get("dropped_segments") or 0),
    )


def _local(tag: str) -> str:
    """An element's name without its namespace (GPX 1.0 and 1.1 differ only there)."""
    return tag.rsplit("}", 1)[-1]


def check_xml(data: bytes, limits: Limits) -> tuple[int, int]:
    """Parse with defusedxml (no DTD, no entities), check it is GPX, count its track or route
    points and segments within the limits; (points, segments). Pure: no GDAL."""
    points = segments = 0
    route_points = 0
    segment_points = 0
    parser = SafeET.DefusedXMLParser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    root_seen = False
    source = _Lines(data)
    try:
        for event, element in SafeET.iterparse(source, events=("start", "end"), parser=parser):
            name = _local(element.tag)
            if event == "start":
                if not root_seen:
                    root_seen = True
                    if name != "gpx":
                        raise TrackProblem("not_gpx", f"<{name}>", line=source.line)
                if name in ("trkseg", "rte"):  # a route's points make a line as a segment's do
                    segments += 1
                    segment_points = 0
                    if segments > limits.max_segments:
                        raise TrackProblem("too_many_segments", f"> {limits.max_segments}")
                continue
            if name in ("trkpt", "rtept"):
                if name == "trkpt":
                    points += 1
                    segment_points += 1
                else:
                    route_points += 1
                if points + route_points > limits.max_points:
                    raise TrackProblem("too_many_points", f"> {limits.max_points}")
                if not _has_position(element):
                    raise TrackProblem(
                        "bad_point",
                        f"lat={element.get('lat')!r:.40} lon={element.get('lon')!r:.40}",
                        line=source.line,
                        segment=segments or None,
                    )
                element.clear()  # a large file is counted, not kept
    except DefusedXmlException as exc:
        raise TrackProblem("xml_entities", type(exc).__name__) from None
    except SafeET.ParseError as exc:
        line, column = getattr(exc, "position", (None, None))
        raise TrackProblem("not_xml", f"{line}:{column}", line=line) from None
    if not root_seen:
        raise TrackProblem("not_xml", "", line=1)
    if points < 2 and route_points < 2:
        raise TrackProblem("no_track")
    return (points or route_points), segments


class _Lines(io.BytesIO):
    """The file handed to the parser a line at a time, so that the elements it reports come
    from the line last read (a problem can name it)."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.line = 1
        self._ended = 0  # lines read to their end

    def read(self, size: int = -1) -> bytes:
        chunk = self.readline(size if size and size > 0 else -1)
        if chunk:
            self.line = self._ended + 1
            self._ended += chunk.endswith(b"\n")
        return chunk


def _has_position(element) -> bool:
    try:
        lat, lon = float(element.get("lat", "")), float(element.get("lon", ""))
    except ValueError:
        return False
    return math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180


def _read_with_gdal(data: bytes, progress) -> TrackRead:
    """Read the checked XML with GDAL's GPX driver: the track's points, grouped by segment."""
    sandbox.require_child()  # GDAL opens a file from outside only in the confined child
    import pyogrio.errors
    import pyogrio.raw

    sandbox.keep_only_drivers(("GPX",))  # run() asked for it already; say so where GDAL reads
    with tempfile.TemporaryDirectory(prefix="track-") as folder:
        path = Path(folder) / "track.gpx"
        path.write_bytes(data)
        try:
            _meta, _fids, geometries, values = pyogrio.raw.read(
                path,
                layer="track_points",
                columns=["track_fid", "track_seg_id", "time"],
                datetime_as_string=True,
                force_2d=True,
            )
            if geometries is None or len(geometries) < 2:
                _meta, _fids, geometries, values = pyogrio.raw.read(
                    path,
                    layer="route_points",
                    columns=["route_fid", "time"],
                    datetime_as_string=True,
                    force_2d=True,
                )
                values = [values[0], [0] * len(values[0]), values[1]]
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise TrackProblem("unreadable", str(exc).splitlines()[0][:200]) from None
    if geometries is None or len(geometries) < 2:
        raise TrackProblem("no_track")
    total = len(geometries)
    progress(0, total)
    coords = shapely.get_coordinates(shapely.from_wkb(geometries))
    keys = list(zip((int(v) for v in values[0]), (int(v) for v in values[1]), strict=True))
    times = [t for t in (_time(v) for v in values[2]) if t is not None]
    lines, dropped = [], 0
    start = 0
    for i in range(1, total + 1):
        if i < total and keys[i] == keys[start]:
            continue
        part = [tuple(p) for p in coords[start:i]]
        distinct = [p for k, p in enumerate(part) if k == 0 or p != part[k - 1]]
        if len(distinct) < 2:
            dropped += 1
        else:
            _check_in_vietnam(distinct, len(lines) + dropped + 1)
            lines.append(LineString(distinct))
        start = i
        progress(i, total)
    if not lines:
        raise TrackProblem("no_track", f"{dropped}")
    return TrackRead(
        line=MultiLineString(lines),
        points=total,
        started_at=min(times) if times else None,
        ended_at=max(times) if times else None,
        dropped_segments=dropped,
    )


def _check_in_vietnam(points: list[tuple[float, float]], segment: int) -> None:
    west, south, east, north = VIETNAM_EXTENT
    for x, y in points:
        if not (west <= x <= east and south <= y <= north):
            raise TrackProblem("outside_vietnam", f"{y:.5f}, {x:.5f}", segment=segment)


MIN_TIME = datetime(2000, 1, 1, tzinfo=UTC)
MAX_TIME = datetime(2100, 1, 1, tzinfo=UTC)


def _time(value) -> datetime | None:
    """A GPX time; one without a zone is UTC, as GPX says."""
    if value is None or not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
        moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None
    # a time no GPS logger of a patrol can have (year 9999, 1970) is not known: shown and stored
    # as such, never converted to a local time that overflows
    if not MIN_TIME <= moment <= MAX_TIME:
        return None
    return moment
