"""A hostile review of the review (issue 15): junk and extreme arguments answer the form's
message naming the field (never a 500), names that look like formulas or markup stay text in
every file and on every page, the stored monthly figures stay equal to the rows after bulk
statements and triage corrections, and the XLSX form is a POST protected by its token."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text

from portal.models import Account, Area, Team
from portal.review import exports, periods, services
from portal.review.queries import Place
from portal.scope import Scope
from tests.conftest import csrf_token, signed_in
from tests.test_review import LOCAL, add_item, add_patrol, villages_of

TODAY = date(2026, 11, 28)


# --- arguments: a message naming the field, never a 500 ----------------------------------------

JUNK = [
    ({"kind": "month", "month": "²"}, "month"),  # isdigit() but not int()
    ({"kind": "year", "year": "²⁰²⁶"}, "year"),
    ({"kind": "quarter", "quarter": "¹"}, "quarter"),
    ({"kind": "custom", "from": "2026-12-30", "to": "9999-12-31"}, "to"),  # no day after it
    ({"kind": "custom", "from": "9999-12-31", "to": "9999-12-31"}, "from"),
    ({"kind": "custom", "from": "2026-01-01", "to": "9999-12-31"}, "to"),
    ({"kind": "year", "year": "9" * 40}, "year"),
    ({"kind": "custom", "from": "0001-01-01", "to": "2026-01-01"}, "from"),
]


@pytest.mark.parametrize(("args", "field"), JUNK)
def test_junk_periods_name_their_field(app, args, field):
    with app.test_request_context(), pytest.raises(Exception) as raised:
        periods.parse(args, TODAY)
    assert getattr(raised.value, "fields", None) is not None, repr(raised.value)
    assert field in raised.value.fields


@pytest.mark.parametrize(("args", "field"), JUNK[:6])
def test_junk_periods_never_answer_500_on_any_page(app, demo, args, field):
    client = signed_in(app, "quantri")
    page = client.get("/review/", query_string=args)
    assert page.status_code == 200 and f'id="review-{field}-error"' in page.get_data(as_text=True)
    for path in ("/review/tong-hop.csv", "/review/print"):
        assert client.get(path, query_string=args).status_code == 422, path
    token = csrf_token(client, "/review/")
    assert client.post("/review/xlsx", data={**args, "csrf_token": token}).status_code == 422


def test_unicode_digits_that_int_reads_are_a_value_like_any_other(app):
    with app.test_request_context():
        assert periods.parse({"kind": "month", "year": "２０２６", "month": "１２"}, TODAY) == (
            periods.parse({"kind": "month", "year": "2026", "month": "12"}, TODAY)
        )


def test_a_custom_period_of_exactly_the_limit_is_taken_and_one_day_more_is_not(app, demo):
    with app.test_request_context():
        start = date(2023, 12, 1)
        last = start + timedelta(days=periods.MAX_DAYS - 1)
        args = {"kind": "custom", "from": start.isoformat(), "to": last.isoformat()}
        period = periods.parse(args, TODAY)
        assert period.days == periods.MAX_DAYS
        longer = {**args, "to": (last + timedelta(1)).isoformat()}
        with pytest.raises(Exception) as raised:
            periods.parse(longer, TODAY)
        assert "to" in raised.value.fields
    client = signed_in(app, "quantri")
    assert client.get("/review/", query_string=args).status_code == 200


@pytest.mark.parametrize(
    "args",
    [
        {"commune": "-1"},
        {"commune": "99999999999999999999"},
        {"team": "0"},
        {"commune": "abc"},
        {"team": "１"},
    ],
)
def test_ids_no_row_can_have_are_not_found(app, demo, args):
    client = signed_in(app, "quantri")
    for path in ("/review/", "/review/tong-hop.csv", "/review/print"):
        assert client.get(path, query_string=args).status_code == 404, path


# --- scope -------------------------------------------------------------------------------------


def _accounts(session):
    rows = session.execute(select(Account.username, Account.commune_id, Account.team_id))
    return {r.username: r for r in rows}


def test_combined_and_repeated_place_args_never_widen_the_scope(app, demo):
    who = _accounts(demo)
    officer = signed_in(app, "canbo.xa")
    foreign = demo.scalar(
        select(Team).where(Team.commune_id != who["canbo.xa"].commune_id).order_by(Team.id)
    )
    foreign_commune = demo.get(Area, foreign.commune_id).name
    for args in (
        {"commune": "", "team": foreign.id},
        {"commune": who["canbo.xa"].commune_id, "team": foreign.id},
        [("commune", foreign.commune_id), ("commune", who["canbo.xa"].commune_id)],
        [("team", foreign.id), ("team", "")],
    ):
        for path in ("/review/", "/review/theo-don-vi.csv", "/review/print"):
            response = officer.get(path, query_string=args)
            body = response.get_data(as_text=True)
            assert response.status_code in (200, 404), (path, args)
            assert foreign_commune not in body, (path, args)
    # the officer's own review names no other commune
    body = officer.get("/review/").get_data(as_text=True)
    others = demo.scalars(
        select(Area.name).where(Area.level == "commune", Area.id != who["canbo.xa"].commune_id)
    ).all()
    assert not [n for n in others if f">{n}<" in body]


def test_a_leader_cannot_read_another_accounts_job_file(app, demo):
    admin = signed_in(app, "quantri")
    token = csrf_token(admin, "/review/")
    started = admin.post("/review/xlsx", data={"csrf_token": token})
    assert started.status_code == 303
    job = started.headers["Location"].rstrip("/").split("/")[-1]
    leader = signed_in(app, "totruong")
    assert leader.get(f"/jobs/{job}").status_code == 404
    assert leader.get(f"/jobs/{job}/download").status_code == 404


def test_the_xlsx_is_a_post_with_its_token(app, demo):
    client = signed_in(app, "quantri")
    assert client.get("/review/xlsx").status_code == 405
    assert client.post("/review/xlsx", data={}).status_code == 400


# --- names that look like formulas or markup --------------------------------------------------

EVIL = '=HYPERLINK("http://x.invalid","a")</svg><script>alert(1)</script>" onload="x'


@pytest.fixture
def evil(demo):
    """A team of the officer's commune named like a formula and markup, with a patrol in it."""
    who = _accounts(demo)
    team = demo.scalar(
        select(Team).where(Team.commune_id == who["canbo.xa"].commune_id).order_by(Team.id)
    )
    team.name = EVIL
    add_patrol(demo, team, datetime.now(LOCAL) - timedelta(days=1))
    demo.commit()
    return team.commune_id


def test_formula_names_are_text_in_the_csv_and_the_xlsx(app, evil):
    client = signed_in(app, "quantri")
    body = client.get("/review/theo-don-vi.csv", query_string={"commune": evil})
    rows = list(csv.reader(io.StringIO(body.get_data(as_text=True).lstrip("\ufeff"))))
    cells = [c for row in rows for c in row]
    assert "'" + EVIL in cells and EVIL not in cells
    with app.test_request_context():
        from flask import g

        g.scope = Scope("admin", 1)
        r = services.review(periods.parse({}, date.today()), Place("commune", evil))
        book = load_workbook(io.BytesIO(exports.workbook(r)))
    values = [c.value for ws in book for row in ws.iter_rows() for c in row]
    assert "'" + EVIL in values and EVIL not in values


def test_markup_names_stay_text_on_the_page_the_print_and_the_charts(app, evil):
    client = signed_in(app, "canbo.xa")
    for path in ("/review/", "/review/print"):
        body = client.get(path).get_data(as_text=True)
        assert "<script>alert(1)" not in body and "</svg><script>" not in body, path
        assert '" onload="x' not in body, path


# --- the stored figures stay the rows' figures ------------------------------------------------


def _stored_equals_raw(session) -> None:
    """Every stored monthly figure equals what the rows give now (zero rows aside)."""
    checks = {
        "review_patrols": (
            "SELECT month, team_id, commune_id, done, cancelled, joint, violations, handed"
            " FROM {t}",
            "SELECT * FROM review_patrols_raw('-infinity', 'infinity', NULL, NULL)",
            "done + cancelled + joint + violations + handed",
        ),
        "review_incidents": (
            "SELECT month, commune_id, team_id, source, kind, items, valuable, passed,"
            " round(pass_seconds::numeric), handed FROM {t}",
            "SELECT month, commune_id, team_id, source, kind, items, valuable, passed,"
            " round(pass_seconds::numeric), handed"
            " FROM review_incidents_raw('-infinity', 'infinity', NULL, NULL)",
            "items + valuable + passed + handed",
        ),
    }
    for table, (stored, raw, total) in checks.items():
        have = set(session.execute(text(stored.format(t=table) + f" WHERE {total} <> 0")).all())
        want = set(session.execute(text(raw)).all())
        want = {r for r in want if any(r[-5:])} if table == "review_patrols" else want
        assert have == want, table


def test_bulk_statements_keep_the_figures(app, demo):
    session = demo
    teams = session.scalars(select(Team).order_by(Team.id).limit(4)).all()
    start = datetime(2026, 10, 30, 22, tzinfo=LOCAL)
    for n in range(12):
        add_patrol(session, teams[n % 4], start + timedelta(hours=3 * n), violations=n % 3)
    session.commit()
    _stored_equals_raw(session)
    # many rows across months and teams at once, both ways
    session.execute(text("UPDATE patrols SET day = day + 31, violations = violations + 1"))
    session.execute(
        text("UPDATE patrols SET status = 'cancelled' WHERE id IN (SELECT id FROM patrols LIMIT 5)")
    )
    _stored_equals_raw(session)
    session.execute(text("DELETE FROM patrols WHERE id IN (SELECT id FROM patrols LIMIT 7)"))
    _stored_equals_raw(session)


def test_triage_corrections_keep_the_figures(app, demo):
    session = demo
    team = session.scalar(select(Team).order_by(Team.id))
    village = villages_of(session, team)[0]
    now = datetime(2026, 10, 31, 23, 30, tzinfo=LOCAL)
    items = [
        add_item(session, team, village, received=now + timedelta(minutes=n)) for n in range(4)
    ]
    session.commit()
    _stored_equals_raw(session)
    a, b, c, d = items
    b.merged_into_id = a.id
    c.valuable = True
    d.passed_at = now + timedelta(hours=5)
    session.flush()
    _stored_equals_raw(session)
    b.merged_into_id = None  # unmerged
    d.passed_at = None  # the pass undone
    session.execute(
        text(
            "UPDATE incidents SET occurred_at = occurred_at - interval '40 days',"
            " received_at = received_at + interval '1 hour' WHERE source = 'tip'"
        )
    )
    _stored_equals_raw(session)
    session.execute(text("DELETE FROM incidents WHERE id = :id"), {"id": c.id})
    _stored_equals_raw(session)


# --- concurrency: the figures' rows are locked in one order ----------------------------------

FAKE_TEAM, FAKE_COMMUNE = 2_000_000_001, 2_000_000_002
OCT, NOV = date(2026, 10, 1), date(2026, 11, 1)


def _engine(app, role: str):
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from tests.conftest import DB_SUFFIX, database_url_for

    database = app.config["SQLALCHEMY_DATABASE_URI"].rsplit("/", 1)[1].removesuffix(DB_SUFFIX)
    return create_engine(database_url_for(database, role), poolclass=NullPool)


KEYS = {"oct": OCT, "nov": NOV, "t": FAKE_TEAM, "c": FAKE_COMMUNE}
PATROL = text(
    "INSERT INTO patrols (team_id, commune_id, day, planned_start, planned_end, status,"
    " started_at, ended_at, joint_police, violations, handed_to_police)"
    " VALUES (:t, :c, :day, :day + time '08:00', :day + time '10:00', :status,"
    " :day + time '08:00', :day + time '10:00', false, 0, 0) RETURNING id"
)


@pytest.fixture
def committed(app):
    """Patrols committed for real (other connections must see them) of a team no other test
    has: written without triggers or foreign keys, with their month's figures by hand, and
    deleted after. Yields (engine as the portal's role, add(day, status) -> patrol id)."""
    owner, portal = _engine(app, "admin"), _engine(app, "app")

    def add(day: date, status: str) -> int:
        with owner.begin() as c:
            c.execute(text("SET LOCAL session_replication_role = replica"))
            done = int(status == "done")
            for table, unit in (("review_patrols", "team_id, "), ("review_communes", "")):
                figure = "done" if table == "review_patrols" else "patrols"
                conflict = "month, team_id" if unit else "month, commune_id"
                c.execute(
                    text(
                        f"INSERT INTO {table} (month, {unit}commune_id, {figure})"
                        f" VALUES (:month, {':t, ' if unit else ''}:c, :done)"
                        f" ON CONFLICT ({conflict})"
                        f" DO UPDATE SET {figure} = {table}.{figure} + :done"
                    ),
                    {**KEYS, "month": day.replace(day=1), "done": done},
                )
            return c.scalar(PATROL, {**KEYS, "day": day, "status": status})

    try:
        yield portal, add
    finally:
        with owner.begin() as c:
            c.execute(text("SET LOCAL session_replication_role = replica"))
            for table in ("patrols", "review_patrols", "review_communes", "patrol_activity"):
                c.execute(text(f"DELETE FROM {table} WHERE commune_id = :c"), KEYS)
        owner.dispose()
        portal.dispose()


def _in_thread(connection, statement, params):
    """Run a statement in a thread; returns (thread, errors) to join and check."""
    import threading

    errors: list[Exception] = []

    def run() -> None:
        try:
            connection.execute(text(statement), params)
        except Exception as error:
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def _wait_for_lock(prober, pid: int) -> None:
    import threading

    waiting = text("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :pid")
    for _ in range(500):
        if prober.scalar(waiting, {"pid": pid}):
            prober.rollback()
            return
        prober.rollback()
        threading.Event().wait(0.01)
    raise AssertionError("the statement never waited for a lock")


def test_a_patrol_moved_back_a_month_waits_without_holding_the_later_month(committed):
    """Two patrols of a team moved across months in opposite directions at once: each
    statement's trigger used to take the old month's rows (subtracting) before the new
    month's (adding), so the two could each hold one and wait for the other (a deadlock, one
    of the two saves failing). In key order, the one that waits holds nothing yet."""
    portal, add = committed
    add(date(2026, 10, 5), "planned")  # October's rows exist
    patrol = add(date(2026, 11, 5), "done")
    holder, mover, prober = (portal.connect() for _ in range(3))
    try:
        holder.execute(
            text("SELECT 1 FROM review_patrols WHERE month = :oct AND team_id = :t FOR UPDATE"),
            KEYS,
        )
        pid = mover.scalar(text("SELECT pg_backend_pid()"))
        thread, errors = _in_thread(
            mover, "UPDATE patrols SET day = '2026-10-05' WHERE id = :id", {"id": patrol}
        )
        _wait_for_lock(prober, pid)
        free = prober.execute(
            text(
                "SELECT 1 FROM review_patrols WHERE month = :nov AND team_id = :t"
                " FOR UPDATE SKIP LOCKED"
            ),
            KEYS,
        ).all()
        prober.rollback()
        holder.rollback()
        thread.join(10)
        mover.rollback()
        assert not errors, errors
        assert free, "the waiting move held November's row: the other way round deadlocks"
    finally:
        for c in (holder, mover, prober):
            c.close()


def test_two_patrols_done_at_once_both_count(committed):
    """Two saves of the same team's month at once: the second waits for the first's row and
    adds to what it committed (no figure lost)."""
    portal, add = committed
    first, second = add(date(2026, 11, 5), "planned"), add(date(2026, 11, 6), "planned")
    done = "UPDATE patrols SET status = 'done' WHERE id = :id"
    a, b, prober = (portal.connect() for _ in range(3))
    try:
        a.execute(text(done), {"id": first})
        pid = b.scalar(text("SELECT pg_backend_pid()"))
        thread, errors = _in_thread(b, done, {"id": second})
        _wait_for_lock(prober, pid)
        a.commit()
        thread.join(10)
        b.commit()
        assert not errors, errors
        figures = prober.execute(
            text(
                "SELECT p.done, c.patrols FROM review_patrols p JOIN review_communes c"
                " USING (month, commune_id) WHERE p.month = :nov AND p.team_id = :t"
            ),
            KEYS,
        ).one()
        assert tuple(figures) == (2, 2)
    finally:
        for c in (a, b, prober):
            c.close()


def test_a_rebuild_waits_for_saves_under_way_instead_of_failing(committed):
    """`flask rebuild-review` while a patrol is being moved into a month with no figures yet:
    the rebuild's insert met the row the save's trigger had just added (a duplicate key, the
    rebuild failing). It now waits for saves under way and reads the rows after them."""
    portal, add = committed
    patrol = add(date(2026, 12, 5), "done")
    a, b, prober = (portal.connect() for _ in range(3))
    try:
        a.execute(text("UPDATE patrols SET day = '2027-01-05' WHERE id = :id"), {"id": patrol})
        pid = b.scalar(text("SELECT pg_backend_pid()"))
        thread, errors = _in_thread(b, "SELECT review_rebuild()", {})
        _wait_for_lock(prober, pid)
        a.commit()
        thread.join(30)
        assert not errors, errors
        stored = b.execute(
            text("SELECT month, done FROM review_patrols WHERE team_id = :t AND done <> 0"), KEYS
        ).all()
        assert stored == [(date(2027, 1, 1), 1)]
    finally:
        b.rollback()  # the rebuild rewrote every stored figure of the test database
        for c in (a, b, prober):
            c.close()


# --- states at the period's end -----------------------------------------------------------------


def test_a_team_dissolved_mid_period_no_longer_covers_its_villages(app, demo):
    """A team dissolved on 15 October whose village rows were left open (the portal has no
    dissolving step yet: an import or a hand correction sets the day): at the end of
    October its villages have no team, and its patrols before still count under its name."""
    from flask import g

    session = demo
    team = session.scalar(select(Team).order_by(Team.id))
    villages = villages_of(session, team)
    add_patrol(session, team, datetime(2026, 10, 3, 8, tzinfo=LOCAL))
    team.dissolved_on = date(2026, 10, 15)
    session.commit()
    october = periods.Period("month", date(2026, 10, 1), date(2026, 11, 1))
    with app.test_request_context():
        g.scope = Scope("admin", 1)
        r = services.review(october, Place("commune", team.commune_id))
    rows = {u.id: u.figures for u in r.units}
    assert rows[team.id].patrols == 1 and rows[team.id].teams == 0
    assert rows[team.id].villages_covered == 0
    assert rows[None].villages >= len(villages)  # "Chưa có tổ"
    assert r.figures.villages_covered == r.figures.villages - rows[None].villages


def test_a_commune_with_a_village_no_team_covers_has_its_row(app, demo):
    """`before, *_ = compute(...)` bound `_` in review(): the "Chưa có tổ" row's label then
    called a list, a 500 for every commune with a village or a tip without a team."""
    from portal.models import TeamArea

    who = _accounts(demo)
    cover = demo.scalar(
        select(TeamArea)
        .where(TeamArea.commune_id == who["canbo.xa"].commune_id, TeamArea.valid_to.is_(None))
        .order_by(TeamArea.id)
    )
    cover.valid_to = max(cover.valid_from + timedelta(days=1), date(2026, 1, 1))
    demo.commit()
    client = signed_in(app, "canbo.xa")
    for path in ("/review/", "/review/theo-don-vi.csv", "/review/print"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Chưa có tổ" in response.get_data(as_text=True), path


@pytest.mark.parametrize("who", ["quantri", "totruong"])
def test_odd_but_valid_periods_answer_every_page(app, demo, who):
    """A single day, a day across a month's end, the longest custom period, a future year,
    the first year the form takes: every page and file answers."""
    client = signed_in(app, who)
    this_year = date.today().year
    for args in (
        {"kind": "custom", "from": "2026-10-31", "to": "2026-10-31"},
        {"kind": "custom", "from": "2026-10-31", "to": "2026-11-01"},
        {"kind": "custom", "from": "2023-12-02", "to": "2026-12-01"},
        {"kind": "year", "year": str(this_year + 1)},
        {"kind": "twelve", "year": "2000", "month": "1"},
        {"kind": "quarter", "year": "2000", "quarter": "1"},
    ):
        for path in ("/review/", "/review/theo-thang.csv", "/review/print"):
            response = client.get(path, query_string=args)
            assert response.status_code == 200, (path, args, response.status_code)
