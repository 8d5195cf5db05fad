"""The look-up from each worker's memory (portal.lookup.index, portal.lookup.fast) answers
exactly as the database does: the same areas for random points, the same bytes and headers
for the API and the card fragment, the same 400 and 404; and a committed change (a leader's
phone, a boundary) reaches every gunicorn worker within two seconds."""

from __future__ import annotations

import json
import os
import random
import re
import tempfile
import time
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from portal import create_app
from portal.lookup import fast as fast_module
from portal.lookup import index as lookup_index
from portal.lookup import queries
from portal.models import Member
from tests.clusters import gunicorn
from tests.conftest import (
    copy_in,
    fresh_database,
    make_app,
    migrate,
)
from tests.test_lookup import MAUSOLEUM, SAIGON

CARD = {"HX-Request": "true", "HX-Target": "card"}
NONCE = re.compile(r"'nonce-[A-Za-z0-9_-]{32}'")
# a fresh nonce, time and request id (portal/logs.py) in each response
NOT_COMPARED = {"Content-Security-Policy", "Date", "X-Request-ID"}


@pytest.fixture(scope="module")
def fast_app(app):
    """The suite's app with the index on, built inline (the test's one connection)."""
    overrides = {k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY")}
    return create_app(
        {**overrides, "PORTAL_ENV": "testing", "LOOKUP_INDEX": True, "LOOKUP_INDEX_INLINE": True}
    )


@pytest.fixture
def fast(fast_app, demo):
    """A test client of the fast app, its worker's index new (the demo rows are this test's)."""
    lookup_index.init_app(fast_app)
    return fast_app.test_client()


def random_points(session, n: int, seed: int) -> list[tuple[float, float]]:
    """(lat, lon) over the demo's villages' boxes: inside, between, outside and on lines."""
    rng = random.Random(seed)
    boxes = session.execute(
        text(
            "SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM areas"
            " WHERE level = 'village' AND valid_to IS NULL"
        )
    ).all()
    points = []
    for _ in range(n):
        x0, y0, x1, y1 = rng.choice(boxes)
        points.append((round(rng.uniform(y0, y1), 6), round(rng.uniform(x0, x1), 6)))
    # exactly on shared vertices of the parts: borders and the subdivision's cut lines
    vertices = session.execute(
        text(
            "SELECT ST_Y(d.geom), ST_X(d.geom) FROM (SELECT geom FROM area_parts"
            " ORDER BY id LIMIT 25) p, ST_DumpPoints(p.geom) d WHERE d.path[2] = 1"
        )
    ).all()
    return points + [tuple(v) for v in vertices]


def test_the_index_finds_the_same_areas_as_the_database(app, demo):
    with app.app_context():
        app.config["LOOKUP_INDEX_MAX_VERTICES"] = 10**9
        points = lookup_index.WorkerIndex(app)._load()
    assert points is not None and points.areas >= 3 and points.vertices > 0
    for lat, lon in random_points(demo, 250, seed=16):
        expected = [tuple(r) for r in demo.execute(queries.areas_at(lon, lat)).all()]
        assert [tuple(h) for h in points.areas_at(lon, lat)] == expected, (lat, lon)


def compare(fast, slow, path: str, points, headers: dict) -> int:
    """Each point asked twice of the fast app (a first answer teaches it, the second comes
    from memory) and once of today's path: the same status, bytes and headers."""
    answered = 0
    for lat, lon in points:
        query = {"lat": repr(lat), "lon": repr(lon)}
        first = fast.get(path, query_string=query, headers=headers)
        again = fast.get(path, query_string=query, headers=headers)
        today = slow.get(path, query_string=query, headers=headers)
        for response in (first, again):
            assert response.status_code == today.status_code, (lat, lon)
            assert response.get_data() == today.get_data(), (lat, lon)
            assert {k: v for k, v in response.headers.items() if k not in NOT_COMPARED} == {
                k: v for k, v in today.headers.items() if k not in NOT_COMPARED
            }
            assert ("Date" in response.headers) == ("Date" in today.headers)
            assert NONCE.sub("", response.headers["Content-Security-Policy"]) == NONCE.sub(
                "", today.headers["Content-Security-Policy"]
            )
        assert again.headers["Content-Security-Policy"] != first.headers["Content-Security-Policy"]
        answered += today.status_code == 200
    return answered


def test_api_answers_are_the_same_bytes_and_headers_as_todays(fast, client, demo):
    points = random_points(demo, 50, seed=1)
    assert compare(fast, client, "/api/lookup", points, {}) > 25
    assert compare(fast, client, "/api/lookup", points[:12], {"Accept-Encoding": "gzip, br"})
    # from memory: the second answer of a point never reached a view
    fast_app = fast.application
    index = lookup_index.of(fast_app)
    assert index.current_points() is not None and index.headers and index.answers


def test_card_fragments_are_the_same_bytes_and_headers_as_todays(fast, client, demo):
    points = random_points(demo, 40, seed=2)
    assert compare(fast, client, "/tra-cuu/diem", points, CARD) > 20
    assert compare(fast, client, "/tra-cuu/diem", points[:10], {**CARD, "Accept-Encoding": "br"})


def test_errors_and_odd_requests_are_answered_as_today(fast, client, demo):
    inside = MAUSOLEUM
    cases = [
        ("/api/lookup", {"lat": SAIGON[0], "lon": SAIGON[1]}, {}),  # 404 outside
        ("/api/lookup", {"lat": "abc", "lon": "105.8"}, {}),  # 400
        ("/api/lookup", {"lat": "91", "lon": "105.8"}, {}),
        ("/api/lookup", {"lon": "105.8"}, {}),
        ("/api/lookup", {"lat": inside[0], "lon": inside[1], "x": "\x00"}, {}),
        ("/api/lookup", {"lat": f" {inside[0]}", "lon": inside[1]}, {}),
        ("/tra-cuu/diem", {"lat": inside[0], "lon": inside[1]}, {}),  # the whole page
        ("/tra-cuu/diem", {"lat": SAIGON[0], "lon": SAIGON[1]}, CARD),
        ("/tra-cuu/diem", {"lat": "1e400", "lon": "105.8"}, CARD),
    ]
    for path, query, headers in cases:
        for _ in range(2):
            ours = fast.get(path, query_string=query, headers=headers)
            today = client.get(path, query_string=query, headers=headers)
            assert ours.status_code == today.status_code, (path, query)
            if ours.status_code != 200:  # pages carry a fresh CSRF token
                assert ours.get_data() == today.get_data(), (path, query)


def test_a_signed_in_or_english_reader_gets_flask_not_the_kept_answer(fast, client, demo):
    query = {"lat": MAUSOLEUM[0], "lon": MAUSOLEUM[1]}
    fast.get("/api/lookup", query_string=query)
    with fast.session_transaction() as session:
        session["lang"] = "en"
    with client.session_transaction() as session:
        session["lang"] = "en"
    ours = fast.get("/tra-cuu/diem", query_string=query, headers=CARD)
    today = client.get("/tra-cuu/diem", query_string=query, headers=CARD)
    assert ours.status_code == 200 and ours.get_data() == today.get_data()


def test_a_change_is_seen_after_the_generation_moves(fast, demo):
    query = {"lat": MAUSOLEUM[0], "lon": MAUSOLEUM[1]}
    before = fast.get("/api/lookup", query_string=query).get_json()
    leader = demo.scalar(select(Member).where(Member.full_name == before["team"]["leader"]["name"]))
    leader.phone = "0987654321"
    demo.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))  # the deferred triggers fire now
    demo.commit()
    generation = demo.execute(text("SELECT cards, bounds FROM lookup_generation")).one()
    index = lookup_index.of(fast.application)
    assert generation != index.seen  # the triggers moved it
    assert fast.get("/api/lookup", query_string=query).get_json() == before  # not checked yet
    index.checked_at = float("-inf")  # a second has passed
    after = fast.get("/api/lookup", query_string=query).get_json()
    assert after["team"]["leader"]["phone"] == "0987654321"
    assert index.seen == tuple(generation)


def test_an_answer_made_from_a_card_read_before_a_change_is_not_kept(fast, demo, monkeypatch):
    """With threads, another request may see a new generation (and drop what is kept) after
    this one read its card: the answer made from that card must not be kept as the new one."""
    query = {"lat": MAUSOLEUM[0], "lon": MAUSOLEUM[1]}
    index = lookup_index.of(fast.application)
    made = lookup_index.api_body

    def after_another_requests_check(*args, **kwargs):
        demo.execute(text("UPDATE members SET phone = '0987654321'"))
        demo.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
        demo.commit()
        index.checked_at = float("-inf")
        index.check()  # as another thread's request would, between the card and its answer
        return made(*args, **kwargs)

    monkeypatch.setattr(lookup_index, "api_body", after_another_requests_check)
    old = fast.get("/api/lookup", query_string=query).get_json()
    monkeypatch.setattr(lookup_index, "api_body", made)
    assert old["team"]["leader"]["phone"] != "0987654321"  # read before the change
    for _ in range(2):  # the second from memory
        again = fast.get("/api/lookup", query_string=query).get_json()
        assert again["team"]["leader"]["phone"] == "0987654321"


def test_a_card_read_where_the_generation_is_not_the_workers_is_not_kept(fast, demo):
    """The generation may be read on another connection than the card (the primary standing
    in for a lagging replica in the reader's pool): a card read on a connection that does not
    show the worker's generation is answered, never kept, nor the answers made from it."""
    query = {"lat": MAUSOLEUM[0], "lon": MAUSOLEUM[1]}
    assert fast.get("/api/lookup", query_string=query).status_code == 200
    index = lookup_index.of(fast.application)
    index.check_seconds = 3600  # no check during this test
    cards, bounds = index.seen
    index.seen = (cards + 1, bounds)  # read elsewhere, ahead of this connection's data
    index.cards, index.answers = {}, {}
    for path, headers in (("/api/lookup", {}), ("/tra-cuu/diem", CARD)):
        assert fast.get(path, query_string=query, headers=headers).status_code == 200
    assert not index.cards and not index.answers
    index.seen = (cards, bounds)  # the same again: kept
    assert fast.get("/api/lookup", query_string=query).status_code == 200
    assert index.cards and index.answers


def test_the_point_index_is_labelled_with_its_own_connections_generation(fast, demo):
    """The check may read the generation on another connection than the build's: the index
    says which boundaries its own data shows, so that an older copy is never used as new."""
    assert fast.get("/api/lookup", query_string={"lat": 21.0, "lon": 105.8}).status_code
    index = lookup_index.of(fast.application)
    bounds = demo.scalar(text("SELECT bounds FROM lookup_generation"))
    index.seen = (index.seen[0], bounds + 1)  # read elsewhere, ahead of this connection
    index.points_bounds = None
    index._build()
    assert index.points is not None and index.points_bounds == bounds
    assert index.current_points() is None  # not used for the newer boundaries


def test_what_is_kept_is_dropped_when_the_day_changes(fast, demo):
    """A team covers its areas from one day to another: at midnight a card may change with
    no row changing (no generation moving), so a new day drops what is kept."""
    query = {"lat": MAUSOLEUM[0], "lon": MAUSOLEUM[1]}
    fast.get("/api/lookup", query_string=query)
    index = lookup_index.of(fast.application)
    kept = dict(index.answers)
    assert kept
    index.checked_at = float("-inf")
    fast.get("/api/lookup", query_string=query)
    assert index.answers == kept  # the same day, the same generation: kept
    index.day = date(2000, 1, 1)  # the last check was on another day
    index.checked_at = float("-inf")
    fast.get("/api/lookup", query_string=query)
    assert index.answers.keys() == kept.keys()
    assert all(index.answers[key] is not kept[key] for key in kept)  # made anew


def test_a_new_host_in_every_request_does_not_grow_the_kept_headers(fast, demo):
    """The Host header is the visitor's to choose, and answers are kept per host: a visitor
    sending a new one each time must not grow a worker's memory without end."""
    query = {"lat": MAUSOLEUM[0], "lon": MAUSOLEUM[1]}
    for i in range(fast_module.MAX_HEADER_SETS * 3):
        response = fast.get("/api/lookup", query_string=query, headers={"Host": f"h{i}.example"})
        assert response.status_code == 200
    index = lookup_index.of(fast.application)
    assert 0 < len(index.headers) <= fast_module.MAX_HEADER_SETS
    # the usual host's headers are learned again (its answers come from memory again)
    assert fast.get("/api/lookup", query_string=query).status_code == 200
    assert any(host == "localhost" for _kind, (_scheme, host, *_rest) in index.headers)


# --- several workers, committed changes --------------------------------------------------


@pytest.fixture(scope="module")
def served(app, demo_rows):
    """The demo committed in a database of its own, served by gunicorn with two workers and
    the index on; yields (base URL, a session-maker bound to that database)."""
    url = fresh_database("antt_portal_lookup_index")
    own = make_app(url)
    migrate(own)
    engine = create_engine(url)
    with own.app_context(), Session(engine) as session:
        copy_in(session, demo_rows)  # committed
    log = Path(tempfile.mkdtemp(prefix="lookup-index-")) / "gunicorn.log"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "lookup-index-key",
        "PORTAL_ENV": "testing",
        "PORTAL_LOOKUP_INDEX": "1",
    }
    base, server = gunicorn(env, log)
    yield base, engine
    engine.dispose()
    server.terminate()
    server.wait(timeout=10)


def ask(base: str, point: tuple[float, float]) -> dict | None:
    query = f"/api/lookup?lat={point[0]}&lon={point[1]}"
    try:
        with urllib.request.urlopen(base + query, timeout=5) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def seconds_until_every_worker_says(base, point, expected, within: float = 2.0) -> float:
    """Ask (a new connection each time, which any worker may take) until 40 answers in a row
    say what is expected; the time from the call to the first of them."""
    start = time.monotonic()
    streak_start, streak = None, 0
    while streak < 40:
        answer = ask(base, point)
        if expected(answer):
            if streak == 0:
                streak_start = time.monotonic()
            streak += 1
        else:
            streak = 0
            assert time.monotonic() - start < within + 1, "still the old answer"
    return streak_start - start


def test_a_committed_change_reaches_every_worker_within_two_seconds(served, demo_rows):
    base, engine = served
    for _ in range(60):  # both workers have built their index and kept this answer
        before = ask(base, MAUSOLEUM)
    assert before["area"]["level"] == "village"
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE members SET phone = '0911222333' WHERE full_name = :name"),
            {"name": before["team"]["leader"]["name"]},
        )
    took = seconds_until_every_worker_says(
        base, MAUSOLEUM, lambda a: a and a["team"]["leader"]["phone"] == "0911222333"
    )
    assert took <= 2.0

    # a boundary: the village ends, its land falls back to the commune
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE areas SET valid_to = :today WHERE id = :id"),
            {"today": date.today(), "id": before["area"]["id"]},
        )
    took = seconds_until_every_worker_says(
        base, MAUSOLEUM, lambda a: a and a["area"]["level"] == "commune"
    )
    assert took <= 2.0
