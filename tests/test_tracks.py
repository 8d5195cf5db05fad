"""A patrol's GPS track through the web: uploaded by its team's leader, compared with the route,
refused whole when broken or hostile, read as a job when large, and scoped like the patrol."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import shapely
from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import func, select

from geo import routes
from geo.tracks import PROBLEMS
from portal.models import (
    Account,
    AuditEntry,
    Job,
    Patrol,
    PatrolRoute,
    PatrolTrack,
    RouteVersion,
    Team,
)
from portal.patrols.tracks import PROBLEM_TEXT
from tests.conftest import csrf_token, signed_in
from tests.geo.test_gpx import BILLION_LAUGHS, GEOJSON, KML, START, gpx, walk, xxe, zipped
from tests.test_i18n import load_catalogue
from tests.test_pages import _Htmx

HX = {"HX-Request": "true"}
# the planned route: about 1,040 m eastwards through Ba Đình, 10 m between vertices
ROUTE = walk(101)
NORTH_100M = 0.0009  # degrees of latitude: 100 m


# --- rows: the leader's team, another commune's team, patrols with and without a route -------


def leader_team(session) -> Team:
    team_id = session.scalar(select(Account.team_id).where(Account.username == "totruong"))
    return session.get(Team, team_id)


def other_commune_team(session) -> Team:
    """A team of a commune neither the leader nor the commune officer (canbo.xa) works in."""
    officer_commune = session.scalar(
        select(Account.commune_id).where(Account.username == "canbo.xa")
    )
    excluded = {officer_commune, leader_team(session).commune_id}
    return session.scalar(
        select(Team).where(Team.commune_id.not_in(excluded)).order_by(Team.id).limit(1)
    )


def make_patrol(session, team: Team, route: list[tuple[float, float]] | None = ROUTE) -> int:
    version_id = None
    if route is not None:
        line = shapely.MultiLineString([route])
        planned = PatrolRoute(team_id=team.id, commune_id=team.commune_id, name="Tuyến thử")
        session.add(planned)
        session.flush()
        version = RouteVersion(
            route_id=planned.id,
            number=1,
            geom=from_shape(line, srid=4326),
            length_m=routes.length_m(line),
            outside_m=0.0,
            area_ids=[],
            created_by="test",
        )
        session.add(version)
        session.flush()
        planned.current_version_id = version.id
        version_id = version.id
    start = datetime(2026, 1, 5, 19, 0, tzinfo=UTC)
    patrol = Patrol(
        team_id=team.id,
        commune_id=team.commune_id,
        route_version_id=version_id,
        day=date(2026, 1, 6),
        planned_start=start,
        planned_end=start + timedelta(hours=3),
    )
    session.add(patrol)
    session.commit()
    return patrol.id  # an id: a request ends the session the row was made in


def send(client, patrol_id: int, data: bytes, filename: str = "tuan_tra.gpx", htmx=True):
    return client.post(
        f"/patrols/{patrol_id}/track",
        data={"csrf_token": csrf_token(client, "/jobs/"), "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
        headers=HX if htmx else {},
    )


def remove(client, patrol_id: int, **form):
    return client.post(
        f"/patrols/{patrol_id}/track/delete",
        data={"csrf_token": csrf_token(client, "/jobs/"), **form},
        headers=HX,
    )


def audit_count(session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry))


@pytest.fixture
def leader(app, demo):
    return signed_in(app, "totruong")


@pytest.fixture
def patrol(demo):
    return make_patrol(demo, leader_team(demo))


def stored(session, patrol_id: int) -> PatrolTrack | None:
    session.expire_all()
    return session.get(PatrolTrack, patrol_id)


# --- tracks that follow the route, leave it, or have no route to follow ----------------------


def test_a_track_along_the_route_followed_all_of_it(leader, demo, patrol):
    beside = [(lon, lat + 0.00005) for lon, lat in ROUTE]  # 5.5 m north of the route
    before = audit_count(demo)
    response = send(leader, patrol, gpx([beside]))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<section id="track" class="card" hx-target="this"' in page
    assert "Đi đúng tuyến 100%" in page
    track = stored(demo, patrol)
    assert track.followed_share == pytest.approx(1.0, abs=0.01)
    assert track.off_route is None
    assert track.points == 101
    assert track.length_m == pytest.approx(routes.length_m(shapely.LineString(ROUTE)), rel=0.001)
    assert (track.started_at, track.ended_at) == (START, START + timedelta(seconds=1000))
    assert (track.filename, track.uploaded_by) == ("tuan_tra.gpx", "totruong")
    # times on the page in Vietnam's time: 19:00 UTC is 02:00 the next day in Hanoi
    assert "06/01/2026 02:00 – 06/01/2026 02:16" in page
    assert "1,0 km" in page
    entries = demo.scalars(select(AuditEntry).order_by(AuditEntry.id).offset(before)).all()
    assert [(e.entity_type, e.action) for e in entries] == [("patrol_track", "create")]


def test_a_track_that_leaves_halfway_followed_half_and_says_how_far_off(leader, demo, patrol):
    half = len(ROUTE) // 2
    along = ROUTE[: half + 1]
    turn_lon, lat = along[-1]
    north = [(turn_lon, lat + NORTH_100M * i / 10) for i in range(1, 11)]
    parallel = [(lon, lat + NORTH_100M) for lon, _lat in ROUTE[half + 1 :]]
    response = send(leader, patrol, gpx([along + north + parallel]))
    assert response.status_code == 200
    track = stored(demo, patrol)
    route_m = routes.length_m(shapely.LineString(ROUTE))
    half_m = routes.length_m(shapely.LineString(along))
    # the route near the track: its first half, and 30 m past the turn (the buffer's reach)
    assert track.followed_share == pytest.approx((half_m + 30) / route_m, abs=0.02)
    # off the route: the turn's last 70 m, then the whole parallel stretch 100 m north
    parallel_m = routes.length_m(shapely.LineString([north[-1], *parallel]))
    off_m = routes.length_m(to_shape(track.off_route))
    assert off_m == pytest.approx(70 + parallel_m, rel=0.03)
    page = response.get_data(as_text=True)
    assert f"Đi đúng tuyến {round(track.followed_share * 100)}%" in page
    assert re.search(r'data-testid="off-route">5\d\d m<', page)
    # where it left: one stretch, starting 30 m north of the turn
    (stretch,) = re.findall(r"<li>(\d+) m từ ([\d.]+), ([\d.]+)</li>", page)
    assert float(stretch[0]) == pytest.approx(off_m, abs=1.5)
    assert float(stretch[1]) == pytest.approx(lat + NORTH_100M * 0.3, abs=0.00002)
    assert float(stretch[2]) == pytest.approx(turn_lon, abs=0.00001)


def test_a_patrol_without_a_route_keeps_its_track_without_a_share(leader, demo):
    patrol = make_patrol(demo, leader_team(demo), route=None)
    response = send(leader, patrol, gpx([walk(10)]))
    assert response.status_code == 200
    assert "không có tuyến để so sánh" in response.get_data(as_text=True)
    track = stored(demo, patrol)
    assert track.followed_share is None and track.off_route is None


def test_a_new_upload_replaces_the_earlier_track(leader, demo, patrol):
    send(leader, patrol, gpx([walk(10)]), "first.gpx")
    send(leader, patrol, gpx([walk(20), walk(5, lat=21.031)]), "second.gpx")
    tracks = demo.scalars(select(PatrolTrack).where(PatrolTrack.patrol_id == patrol)).all()
    assert len(tracks) == 1
    demo.refresh(tracks[0])
    assert (tracks[0].filename, tracks[0].points) == ("second.gpx", 25)
    assert len(to_shape(tracks[0].geom).geoms) == 2


# --- broken and hostile files: a message saying what is wrong, and nothing changed -----------


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "empty.gpx", "Chọn một tệp GPX"),
        (b"   ", "blank.gpx", "Tệp trống"),
        (b"not a track at all", "notes.gpx", "không phải XML hợp lệ"),
        (gpx([walk(20)])[:700], "truncated.gpx", "dòng "),
        (KML, "kml.gpx", "không phải GPX (phần tử gốc &lt;kml&gt;)"),
        (GEOJSON, "geojson.gpx", "không phải XML hợp lệ"),
        (zipped(), "zipped.gpx", "không phải XML hợp lệ"),
        (BILLION_LAUGHS, "laughs.gpx", "thực thể XML"),
        (xxe("file:///etc/passwd"), "xxe-file.gpx", "thực thể XML"),
        (xxe("http://127.0.0.1:9/x"), "xxe-http.gpx", "thực thể XML"),
        (gpx([], waypoints=walk(3)), "waypoints.gpx", "chỉ có điểm đánh dấu"),
        (gpx([walk(3), walk(3, lon=100.5, lat=13.75)]), "bangkok.gpx", "đoạn vết thứ 2"),
        (gpx([walk(3)]), "track.kml", "kết thúc bằng .gpx"),
    ],
)
def test_a_refused_file_says_why_and_changes_nothing(leader, demo, patrol, data, filename, message):
    before = audit_count(demo)
    response = send(leader, patrol, data, filename)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="track"' in page and 'role="alert"' in page
    assert message in page
    assert "root:" not in page
    assert stored(demo, patrol) is None
    assert audit_count(demo) == before


def test_a_refused_file_keeps_the_earlier_track(leader, demo, patrol):
    send(leader, patrol, gpx([walk(10)]), "good.gpx")
    before = audit_count(demo)
    assert send(leader, patrol, BILLION_LAUGHS, "bad.gpx").status_code == 422
    assert stored(demo, patrol).filename == "good.gpx"
    assert audit_count(demo) == before


def test_without_javascript_the_track_has_a_page_of_its_own(leader, demo, patrol):
    response = send(leader, patrol, KML, "kml.gpx", htmx=False)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "<html" in page and 'role="alert"' in page and "không phải GPX" in page
    assert stored(demo, patrol) is None
    send(leader, patrol, gpx([walk(10)]))
    asked = leader.post(
        f"/patrols/{patrol}/track/delete", data={"csrf_token": csrf_token(leader, "/jobs/")}
    )
    assert asked.status_code == 200
    assert "<html" in asked.get_data(as_text=True)
    assert 'name="confirm" value="yes"' in asked.get_data(as_text=True)
    assert stored(demo, patrol) is not None
    shown = leader.get(f"/patrols/{patrol}/track").get_data(as_text=True)
    assert "<html" in shown and "Đi đúng tuyến" in shown
    fragment = leader.get(f"/patrols/{patrol}/track", headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith("<section")


# --- a large file is read as a job ------------------------------------------------------------


def test_a_large_file_is_read_as_a_job_that_links_back_to_the_patrol(
    app, leader, demo, patrol, monkeypatch
):
    monkeypatch.setitem(app.config, "TRACK_INLINE_BYTES", 1000)
    response = send(leader, patrol, gpx([ROUTE]), "long.gpx")
    assert response.status_code == 204
    job_id = int(re.fullmatch(r"/jobs/(\d+)", response.headers["HX-Redirect"]).group(1))
    demo.expire_all()
    job = demo.get(Job, job_id)
    assert (job.kind, job.status) == ("patrols.track", "done"), job.message
    assert job.result["endpoint"] == "patrols.show"
    assert job.result["args"] == {"patrol_id": patrol}
    track = stored(demo, patrol)
    assert track.points == len(ROUTE) and track.uploaded_by == "totruong"
    assert track.followed_share == pytest.approx(1.0, abs=0.01)


def test_a_large_broken_file_fails_its_job_and_changes_nothing(
    app, leader, demo, patrol, monkeypatch
):
    monkeypatch.setitem(app.config, "TRACK_INLINE_BYTES", 1000)
    bad = gpx([walk(40), walk(3, lon=100.5, lat=13.75)])
    before = audit_count(demo)
    response = send(leader, patrol, bad, "far.gpx")
    job_id = int(response.headers["HX-Redirect"].rsplit("/", 1)[1])
    demo.expire_all()
    job = demo.get(Job, job_id)
    assert job.status == "failed"
    assert "ngoài Việt Nam" in job.message and "đoạn vết thứ 2" in job.message
    assert stored(demo, patrol) is None
    assert audit_count(demo) == before


# --- removal, and who may do what --------------------------------------------------------------


def test_removing_asks_first_then_removes(leader, demo, patrol):
    send(leader, patrol, gpx([walk(10)]))
    asked = remove(leader, patrol)
    assert asked.status_code == 200
    assert 'name="confirm" value="yes"' in asked.get_data(as_text=True)
    assert stored(demo, patrol) is not None
    done = remove(leader, patrol, confirm="yes")
    assert done.status_code == 200
    assert "Chưa có vết GPS" in done.get_data(as_text=True)
    assert stored(demo, patrol) is None
    last = demo.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    assert (last.entity_type, last.action) == ("patrol_track", "delete")


def test_a_patrol_out_of_scope_is_not_found(app, demo, patrol):
    elsewhere = make_patrol(demo, other_commune_team(demo))
    before = audit_count(demo)
    for username in ("totruong", "canbo.xa"):
        client = signed_in(app, username)
        assert send(client, elsewhere, gpx([walk(10)])).status_code == 404
        assert remove(client, elsewhere, confirm="yes").status_code == 404
        assert client.get(f"/patrols/{elsewhere}/track", headers=HX).status_code == 404
    assert stored(demo, elsewhere) is None
    assert audit_count(demo) == before
    # the commune's officer and the city's admin may upload for the leader's patrol
    for username in ("canbo.xa", "quantri"):
        assert send(signed_in(app, username), patrol, gpx([walk(10)])).status_code == 200
        assert stored(demo, patrol).uploaded_by == username


def test_another_team_of_the_same_commune_is_not_the_leaders(app, demo):
    own = leader_team(demo)
    neighbour = demo.scalar(
        select(Team).where(Team.commune_id == own.commune_id, Team.id != own.id).limit(1)
    )
    if neighbour is None:
        pytest.skip("the demo's commune has one team")
    patrol = make_patrol(demo, neighbour)
    assert send(signed_in(app, "totruong"), patrol, gpx([walk(10)])).status_code == 404
    assert send(signed_in(app, "canbo.xa"), patrol, gpx([walk(10)])).status_code == 200


def test_every_refusal_has_words_in_both_languages():
    assert set(PROBLEM_TEXT) == set(PROBLEMS)
    english = load_catalogue()
    assert all(english.get(text) and english.get(text).string for text in PROBLEM_TEXT.values())


def test_every_htmx_request_of_the_fragment_shows_an_indicator(leader, demo, patrol):
    send(leader, patrol, gpx([walk(10)]))
    for page in (
        leader.get(f"/patrols/{patrol}/track", headers=HX),
        remove(leader, patrol),  # the question, with its cancel link
    ):
        parser = _Htmx()
        parser.feed(page.get_data(as_text=True))
        assert len(parser.requests) >= 2
        for element, indicator in parser.requests:
            assert indicator == "#track-busy" and "track-busy" in parser.ids, element


def test_no_track_for_a_cancelled_patrol_or_one_not_begun(leader, demo):
    team = leader_team(demo)
    patrol_id = make_patrol(demo, team)
    patrol = demo.get(Patrol, patrol_id)
    patrol.status = "cancelled"
    demo.commit()
    response = send(leader, patrol_id, gpx([walk(5)]))
    assert response.status_code == 422 and "đã hủy" in response.get_data(as_text=True)
    patrol = demo.get(Patrol, patrol_id)
    patrol.status = "planned"
    later = datetime.now(UTC) + timedelta(days=2)
    patrol.planned_start, patrol.planned_end = later, later + timedelta(hours=2)
    demo.commit()
    response = send(leader, patrol_id, gpx([walk(5)]))
    assert response.status_code == 422 and "chưa bắt đầu" in response.get_data(as_text=True)
    assert stored(demo, patrol_id) is None


def test_a_track_timed_in_the_year_9999_leaves_the_patrol_page_readable(leader, demo, patrol):
    data = gpx([walk(5)]).replace(b"2026-", b"9999-")
    assert send(leader, patrol, data).status_code == 200
    assert leader.get(f"/patrols/{patrol}").status_code == 200
