"""geo.tracks: GPX tracks as phone apps write them, and broken and hostile files refused."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest

from geo.tracks import Limits, TrackProblem, check_xml, read_gpx

START = datetime(2026, 1, 5, 19, 0, tzinfo=UTC)  # 02:00 the next day in Hanoi


def gpx(
    segments: list[list[tuple[float, float]]],
    *,
    start: datetime | None = START,
    step_s: int = 10,
    waypoints: list[tuple[float, float]] = (),
    route: list[tuple[float, float]] = (),
    version: str = "1.1",
) -> bytes:
    """A GPX file as OsmAnd writes one: (lon, lat) points, a time every `step_s` seconds."""
    out = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
        f'<gpx version="{version}" creator="OsmAnd~ 4.8.6" '
        f'xmlns="http://www.topografix.com/GPX/{version.replace(".", "/")}" '
        'xmlns:osmand="https://osmand.net">',
        "  <metadata><name>Tuần tra đêm</name></metadata>",
    ]
    for lon, lat in waypoints:
        out.append(f'  <wpt lat="{lat}" lon="{lon}"><name>Chốt</name></wpt>')
    if route:
        out.append("  <rte><name>Tuyến</name>")
        out += [f'    <rtept lat="{lat}" lon="{lon}"/>' for lon, lat in route]
        out.append("  </rte>")
    n = 0
    if segments:
        out.append("  <trk><name>Tổ 1</name>")
        for segment in segments:
            out.append("    <trkseg>")
            for lon, lat in segment:
                time = ""
                if start is not None:
                    moment = start + timedelta(seconds=n * step_s)
                    time = f"<time>{moment.strftime('%Y-%m-%dT%H:%M:%SZ')}</time>"
                out.append(
                    f'      <trkpt lat="{lat:.7f}" lon="{lon:.7f}"><ele>12.5</ele>{time}'
                    "<hdop>3.2</hdop><extensions><osmand:speed>1.2</osmand:speed></extensions>"
                    "</trkpt>"
                )
                n += 1
            out.append("    </trkseg>")
        out.append("  </trk>")
    out.append("</gpx>")
    return "\n".join(out).encode()


def walk(n: int, lon: float = 105.830, lat: float = 21.030, step: float = 0.0001):
    """n points eastwards from (lon, lat), about 10 m apart in Hanoi."""
    return [(lon + i * step, lat) for i in range(n)]


def problem(result) -> str | None:
    return result.problem.code if result.problem else None


def test_an_osmand_track_with_times():
    result = read_gpx(gpx([walk(30)]), "Tuan_tra_2026-01-05.gpx")
    assert result.ok, result.problem
    assert result.points == 30
    assert len(result.line.geoms) == 1
    assert result.line.geoms[0].coords[0] == pytest.approx((105.830, 21.030))
    assert not result.line.has_z
    assert result.started_at == START
    assert result.ended_at == START + timedelta(seconds=290)


def test_two_segments_are_two_lines_and_a_one_point_segment_is_dropped():
    result = read_gpx(gpx([walk(5), walk(4, lat=21.031), [(105.84, 21.04)]]), "x.GPX")
    assert result.ok, result.problem
    assert [len(g.coords) for g in result.line.geoms] == [5, 4]
    assert result.points == 10
    assert result.dropped_segments == 1


def test_times_in_another_zone_or_none_at_all():
    local = gpx([walk(3)], start=None).replace(
        b"<ele>12.5</ele>", b"<ele>1</ele><time>2026-01-06T02:00:00+07:00</time>", 1
    )
    result = read_gpx(local, "x.gpx")
    assert result.started_at == datetime(2026, 1, 5, 19, 0, tzinfo=UTC)
    assert result.ended_at == result.started_at
    untimed = read_gpx(gpx([walk(3)], start=None), "x.gpx")
    assert untimed.ok and untimed.started_at is None and untimed.ended_at is None


def test_a_gpx_1_0_route_without_a_track_is_read_as_its_route():
    result = read_gpx(gpx([], route=walk(6), version="1.0"), "route.gpx")
    assert result.ok, result.problem
    assert result.points == 6


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE gpx [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><name>&lol9;</name><trkseg>
<trkpt lat="21.03" lon="105.83"/><trkpt lat="21.04" lon="105.84"/></trkseg></trk></gpx>"""


def xxe(target: str) -> bytes:
    return f"""<?xml version="1.0"?>
<!DOCTYPE gpx [<!ENTITY x SYSTEM "{target}">]>
<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><name>&x;</name><trkseg>
<trkpt lat="21.03" lon="105.83"/><trkpt lat="21.04" lon="105.84"/></trkseg></trk></gpx>""".encode()


def zipped() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("track.gpx", gpx([walk(5)]))
    return buffer.getvalue()


KML = b"""<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Placemark>
<LineString><coordinates>105.83,21.03 105.84,21.04</coordinates></LineString></Placemark></kml>"""
GEOJSON = json.dumps(
    {"type": "LineString", "coordinates": [[105.83, 21.03], [105.84, 21.04]]}
).encode()
VRT = b"""<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>CSV:/etc/passwd</SrcDataSource>
</OGRVRTLayer></OGRVRTDataSource>"""


@pytest.mark.parametrize(
    ("data", "filename", "code"),
    [
        (b"", "empty.gpx", "empty_file"),
        (b"  \n ", "blank.gpx", "empty_file"),
        (b"this is not a GPS track", "notes.gpx", "not_xml"),
        (gpx([walk(20)])[:700], "truncated.gpx", "not_xml"),
        (KML, "kml.gpx", "not_gpx"),
        (GEOJSON, "geojson.gpx", "not_xml"),
        (VRT, "vrt.gpx", "not_gpx"),
        (zipped(), "zipped.gpx", "not_xml"),
        (BILLION_LAUGHS, "laughs.gpx", "xml_entities"),
        (xxe("file:///etc/passwd"), "xxe-file.gpx", "xml_entities"),
        (xxe("http://127.0.0.1:9/secret"), "xxe-http.gpx", "xml_entities"),
        (gpx([], waypoints=walk(5)), "waypoints.gpx", "no_track"),
        (gpx([[(105.83, 21.03)], [(105.84, 21.04)]]), "single.gpx", "no_track"),
        (gpx([walk(5, lon=100.5, lat=13.75)]), "bangkok.gpx", "outside_vietnam"),
        (gpx([walk(5)]), "track.kml", "not_gpx_name"),
        (gpx([walk(5)]).replace(b'lat="21.0300000"', b'lat="north"', 1), "x.gpx", "bad_point"),
    ],
)
def test_broken_and_hostile_files_are_refused_with_a_code(data, filename, code):
    result = read_gpx(data, filename)
    assert problem(result) == code
    assert result.line is None and result.points == 0


def test_a_refusal_says_where():
    truncated = read_gpx(gpx([walk(20)])[:700], "x.gpx")
    assert truncated.problem.line and truncated.problem.line > 1
    outside = read_gpx(gpx([walk(3), walk(3, lon=100.5, lat=13.75)]), "x.gpx")
    assert outside.problem.segment == 2
    assert "13.75" in outside.problem.detail
    bad = gpx([walk(3), walk(3)]).replace(b'lon="105.8300000"', b'lon="1e999"')
    refused = read_gpx(bad, "x.gpx")
    assert (refused.problem.code, refused.problem.segment) == ("bad_point", 1)
    assert refused.problem.line == 6  # header, gpx, metadata, trk, trkseg: the 6th line


def test_an_external_entity_leaks_nothing():
    result = read_gpx(xxe("file:///etc/passwd"), "x.gpx")
    assert "root:" not in result.problem.detail


def test_limits_on_size_points_and_segments():
    data = gpx([walk(11), walk(11, lat=21.031)])
    assert problem(read_gpx(data, "x.gpx", limits=Limits(max_bytes=1000))) == "too_large"
    assert problem(read_gpx(data, "x.gpx", limits=Limits(max_points=20))) == "too_many_points"
    assert problem(read_gpx(data, "x.gpx", limits=Limits(max_segments=1))) == "too_many_segments"
    assert read_gpx(data, "x.gpx", limits=Limits(max_points=22, max_segments=2)).ok


def test_the_xml_check_alone_needs_no_gdal():
    assert check_xml(gpx([walk(4), walk(3)]), Limits()) == (7, 2)
    with pytest.raises(TrackProblem) as refused:
        check_xml(BILLION_LAUGHS, Limits())
    assert refused.value.code == "xml_entities"


def test_routes_count_against_the_segment_limit_as_segments_do():
    routes = b"".join(
        f'<rte><rtept lat="21.03" lon="{105.83 + k * 1e-4:.4f}"/>'
        f'<rtept lat="21.031" lon="{105.83 + k * 1e-4:.4f}"/></rte>'.encode()
        for k in range(3)
    )
    data = b'<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
    data += routes + b"</gpx>"
    assert problem(read_gpx(data, "x.gpx", limits=Limits(max_segments=2))) == "too_many_segments"
    assert read_gpx(data, "x.gpx", limits=Limits(max_segments=3)).ok


def test_a_time_no_logger_can_have_is_unknown_not_an_overflow():
    data = gpx([walk(5)]).replace(b"2026-", b"9999-", 1)
    read = read_gpx(data, "x.gpx")
    assert read.ok
    assert read.started_at is not None and read.started_at.year == 2026  # the others stay
    only_9999 = gpx([walk(2)], start=None).replace(
        b"<ele>12.5</ele>", b"<ele>1</ele><time>9999-12-31T23:59:59Z</time>"
    )
    read = read_gpx(only_9999, "x.gpx")
    assert read.ok and read.started_at is None and read.ended_at is None
