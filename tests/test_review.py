"""The review's figures on hand-built data with known answers: items on the edges of months and
of local days, merged items, corrections after the fact, custom periods read partly from the
rows, the period before, and the scope of each role."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from flask import g
from sqlalchemy import func, select, text

from portal.errors import FormInvalid
from portal.models import Account, Area, Incident, Member, Patrol, Team, TeamArea
from portal.review import periods, services
from portal.review.periods import Period
from portal.review.queries import Place
from portal.scope import Scope
from portal.tips import receipts
from tests.conftest import signed_in

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
TITLE = 'data-testid="review-title">'
OCTOBER = Period("month", date(2026, 10, 1), date(2026, 11, 1))
NOVEMBER = Period("month", date(2026, 11, 1), date(2026, 12, 1))
SEPTEMBER = Period("month", date(2026, 9, 1), date(2026, 10, 1))


def at(m: int, d: int, hh: int = 12, mm: int = 0) -> datetime:
    return datetime(2026, m, d, hh, mm, tzinfo=LOCAL)


def add_patrol(session, team, start, *, status="done", violations=0, joint=False, handed=0):
    end = start + timedelta(hours=2)
    patrol = Patrol(
        team_id=team.id,
        commune_id=team.commune_id,
        day=start.astimezone(LOCAL).date(),
        planned_start=start,
        planned_end=end,
        status=status,
        started_at=start if status == "done" else None,
        ended_at=end if status == "done" else None,
        violations=violations,
        joint_police=joint,
        handed_to_police=handed,
    )
    session.add(patrol)
    session.flush()
    return patrol


def add_item(
    session,
    team,
    village_id,
    *,
    source="tip",
    kind="theft",
    received,
    occurred=None,
    valuable=None,
    passed_at=None,
    merged_into=None,
):
    point = session.scalar(
        select(func.ST_AsText(func.ST_PointOnSurface(Area.geom))).where(Area.id == village_id)
    )
    item = Incident(
        source=source,
        kind=kind,
        violation_kind="public_order" if kind == "violation" else None,
        receipt=receipts.new_receipt() if source == "tip" else None,
        status="passed" if passed_at else "received",
        case_ref="CAX-1" if passed_at else None,
        valuable=valuable,
        passed_at=passed_at,
        occurred_at=occurred or received,
        received_at=received,
        description="Tin thử",
        geom=f"SRID=4326;{point}",
        located_by="map",
        area_id=village_id,
        commune_id=team.commune_id,
        team_id=team.id,
        handed_to_police=False,
        merged_into_id=merged_into,
    )
    session.add(item)
    session.flush()
    return item


def villages_of(session, team) -> list[int]:
    return list(
        session.scalars(
            select(TeamArea.area_id).where(TeamArea.team_id == team.id, TeamArea.active())
        )
    )


@pytest.fixture
def known(demo):
    """The leader's team A, another team B of its commune, a team of another commune, and the
    patrols, items and member changes of the module's docstring, with their answers."""
    session = demo
    a = session.scalar(
        select(Team).join(Account, Account.team_id == Team.id).where(Account.username == "totruong")
    )
    b = session.scalar(
        select(Team).where(Team.commune_id == a.commune_id, Team.id != a.id).order_by(Team.id)
    )
    other = session.scalar(select(Team).where(Team.commune_id != a.commune_id).order_by(Team.id))
    for team in (a, b, other):
        for member in team.members:
            member.appointment_date, member.left_on = date(2020, 1, 1), None
    session.flush()
    village = villages_of(session, a)[0]
    # members: one of A leaves on 15 October, one joins on 31 October and one on 1 November;
    # B keeps two members from 1 October (under-staffed from then)
    a_members = sorted(a.members, key=lambda m: m.id)
    leaver = next(m for m in a_members if m.role != "leader")
    leaver.left_on, leaver.left_decision = date(2026, 10, 15), "QĐ thử"
    template = a_members[0]
    for day in (date(2026, 10, 31), date(2026, 11, 1)):
        session.add(
            Member(
                team_id=a.id,
                full_name=f"Người mới {day}",
                role="member",
                birth_date=date(1990, 1, 1),
                education=template.education,
                appointment_number="QĐ mới",
                appointment_date=day,
                appointment_signer="Chủ tịch",
            )
        )
    b_members = sorted(b.members, key=lambda m: (m.role != "leader", m.id))
    for member in b_members[2:]:
        member.left_on = date(2026, 10, 1)
    session.flush()
    patrols = SimpleNamespace(
        first_day=add_patrol(session, a, at(10, 1, 8), violations=2, joint=True, handed=1),
        late_night=add_patrol(session, a, at(10, 31, 23, 30), violations=1),  # ends in November
        after_midnight=add_patrol(session, a, at(11, 1, 0, 30)),  # 31 Oct 17:30 UTC: November
        cancelled=add_patrol(session, a, at(10, 10, 19), status="cancelled"),
        team_b=add_patrol(session, b, at(10, 15, 19)),
        elsewhere=add_patrol(session, other, at(10, 15, 19)),
    )
    tips = SimpleNamespace()
    tips.last_minute = add_item(
        session,
        a,
        village,
        received=at(10, 31, 23, 59),
        valuable=True,
        passed_at=at(10, 31, 23, 59) + timedelta(hours=10),
    )
    tips.next_month = add_item(session, a, village, received=at(11, 1, 0, 1))
    tips.plain = add_item(session, a, village, received=at(10, 5, 10), valuable=False)
    tips.duplicate = add_item(session, a, village, received=at(10, 6), merged_into=tips.plain.id)
    other_village = villages_of(session, other)[0]
    tips.elsewhere = add_item(session, other, other_village, received=at(10, 7))
    items = SimpleNamespace(
        fire=add_item(session, a, village, source="team", kind="fire", received=at(10, 5)),
        rescue=add_item(
            session,
            a,
            village,
            source="team",
            kind="rescue",
            occurred=at(9, 30, 23),
            received=at(10, 1, 1),
        ),
        violation=add_item(
            session, a, village, source="team", kind="violation", received=at(10, 20)
        ),
    )
    # plain values: each request's context ends the session these rows belong to
    ids = {
        name: SimpleNamespace(id=row.id)
        for ns in (patrols, tips, items)
        for name, row in vars(ns).items()
    }
    patrols = SimpleNamespace(**{k: ids[k] for k in vars(patrols)})
    tips = SimpleNamespace(**{k: ids[k] for k in vars(tips)})
    items = SimpleNamespace(**{k: ids[k] for k in vars(items)})
    a, b, other = (
        SimpleNamespace(id=t.id, commune_id=t.commune_id, name=t.name) for t in (a, b, other)
    )
    session.commit()
    serving_before = session.scalar(
        select(func.count())
        .select_from(Member)
        .join(Team, Team.id == Member.team_id)
        .where(
            Team.commune_id == a.commune_id, Member.left_on.is_(None), Team.dissolved_on.is_(None)
        )
    )
    villages = session.scalar(
        select(func.count())
        .select_from(Area)
        .where(Area.parent_id == a.commune_id, Area.level == "village", Area.valid_to.is_(None))
    )
    patrolled = set(villages_of(session, a)) | set(villages_of(session, b))
    return SimpleNamespace(
        session=session,
        a=a,
        b=b,
        other=other,
        patrols=patrols,
        tips=tips,
        items=items,
        commune=Place("commune", a.commune_id),
        team=Place("team", a.commune_id, a.id),
        b_left=len(b_members) - 2,
        serving=serving_before,
        villages=villages,
        patrolled=patrolled,
    )


def review(place, period):
    g.scope = Scope("admin", 1)
    return services.review(period, place)


def test_a_month_counts_what_happened_in_it_by_local_day(app, known):
    with app.test_request_context():
        f = review(known.commune, OCTOBER).figures
    # patrols: 1 Oct, 31 Oct 23:30 (ends in November) and team B's; not 1 Nov 00:30 local
    assert (f.patrols, f.violations, f.cancelled, f.joint, f.handed) == (3, 3, 1, 1, 1)
    # tips received 31 Oct 23:59 and 5 Oct; not 1 Nov 00:01, not the merged duplicate, not
    # another commune's
    assert (f.tips, f.valuable, f.tips_passed) == (2, 1, 1)
    assert f.handover_hours == pytest.approx(10.0)
    # a team's item counts when it happened: the rescue of 30 Sep 23:00 is September's
    assert (f.fire, f.rescue, f.team_items) == (1, 0, 2)
    # members on 31 October: A lost one and gained one; B kept two
    assert f.joined == 1 and f.left == 1 + known.b_left
    # the members serving now, less the one appointed on 1 November
    assert f.members == known.serving - 1
    assert f.villages == known.villages
    assert f.never_patrolled == known.villages - len(known.patrolled)


def test_the_month_after_and_before(app, known):
    with app.test_request_context():
        november = review(known.commune, NOVEMBER)
        september = review(known.commune, SEPTEMBER).figures
    f = november.figures
    assert (f.patrols, f.tips, f.joined, f.left) == (1, 1, 1, 0)
    assert (september.rescue, september.patrols, september.tips) == (1, 0, 0)
    # November's change is measured against October
    assert november.previous == OCTOBER
    assert november.before.patrols == 3
    change = next(c for c in november.changes if c.key == "patrols")
    assert (change.delta, change.tone) == (-2, "bad")
    # under-staffed: B from 1 October
    assert f.understaffed - september.understaffed == 1


def test_by_month_by_kind_and_by_team_add_up(app, known):
    period = periods.parse({"kind": "quarter", "year": "2026", "quarter": "4"}, date(2026, 11, 28))
    with app.test_request_context():
        r = review(known.commune, period)
    assert [m.month for m in r.months] == [date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)]
    assert [m.figures.patrols for m in r.months] == [3, 1, 0]
    assert sum(m.figures.tips for m in r.months) == r.figures.tips == 3
    kinds = {(k.source, k.kind): (k.items, k.valuable) for k in r.kinds}
    assert kinds == {
        ("tip", "theft"): (3, 1),
        ("team", "fire"): (1, 0),
        ("team", "violation"): (1, 0),
    }
    by_team = {u.id: u.figures for u in r.units}
    assert by_team[known.a.id].patrols == 3 and by_team[known.b.id].patrols == 1
    assert sum(u.figures.patrols for u in r.units) == r.figures.patrols


def test_custom_periods_read_the_days_outside_whole_months_from_the_rows(app, known):
    two_days = Period("custom", date(2026, 10, 31), date(2026, 11, 2))
    around = Period("custom", date(2026, 9, 30), date(2026, 11, 2))
    assert two_days.whole_months() is None and around.whole_months() == (
        date(2026, 10, 1),
        date(2026, 11, 1),
    )
    with app.test_request_context():
        short = review(known.commune, two_days).figures
        long = review(known.commune, around).figures
        team = review(known.team, around).figures
    assert (short.patrols, short.tips, short.violations) == (2, 2, 1)
    assert (long.patrols, long.tips, long.rescue, long.fire) == (4, 3, 1, 1)
    assert (team.patrols, team.tips) == (3, 3)  # team B's patrol is not team A's


def test_corrections_move_the_stored_figures_at_once(app, known):
    session = known.session
    with app.test_request_context():
        assert review(known.commune, OCTOBER).figures.patrols == 3
    # the request's context closed the session: the rows are read again to be corrected
    first_day = session.get(Patrol, known.patrols.first_day.id)
    first_day.status = "cancelled"  # recorded by mistake as done
    first_day.started_at = first_day.ended_at = None
    session.get(Incident, known.tips.plain.id).valuable = True  # valuable on a second look
    session.get(Incident, known.tips.next_month.id).received_at = at(10, 30, 9)  # mistyped
    session.get(Incident, known.tips.duplicate.id).merged_into_id = None  # not a duplicate
    session.delete(session.get(Patrol, known.patrols.late_night.id))
    session.commit()
    with app.test_request_context():
        october = review(known.commune, OCTOBER).figures
        november = review(known.commune, NOVEMBER).figures
    assert (october.patrols, october.violations, october.cancelled) == (1, 0, 2)
    assert (october.tips, october.valuable) == (4, 2)
    assert (november.tips, november.patrols) == (0, 1)
    # what the triggers keep is what the rows say, row for row
    columns = {
        "review_patrols": "month, team_id, commune_id, done, cancelled, joint, violations, handed",
        "review_incidents": "month, commune_id, team_id, source, kind, items, valuable, passed,"
        " pass_seconds, handed",
    }
    for stored, raw in (
        ("review_patrols", "review_patrols_raw('-infinity', 'infinity', NULL, NULL)"),
        ("review_incidents", "review_incidents_raw('-infinity', 'infinity', NULL, NULL)"),
    ):
        kept = session.execute(text(f"SELECT {columns[stored]} FROM {stored}")).all()
        kept = {tuple(r) for r in kept if any(r[-5:])}  # rows back at zero are kept
        fresh = {tuple(r) for r in session.execute(text(f"SELECT * FROM {raw}"))}
        assert kept == fresh, repr((stored, kept - fresh, fresh - kept))


def test_the_city_sums_its_communes(app, known):
    with app.test_request_context():
        city = review(Place("city"), OCTOBER)
        commune = review(known.commune, OCTOBER).figures
    assert city.figures.patrols == commune.patrols + 1  # the other commune's patrol
    assert city.figures.tips == commune.tips + 1
    by_commune = {u.id: u.figures for u in city.units}
    assert by_commune[known.a.commune_id].patrols == commune.patrols
    assert sum(u.figures.teams for u in city.units) == city.figures.teams


def test_rebuild_writes_the_same_figures(app, known):
    session = known.session
    before = session.execute(text("SELECT * FROM review_communes ORDER BY 1, 2")).all()
    result = app.test_cli_runner().invoke(args=["rebuild-review"])
    assert result.exit_code == 0 and "Đã tính lại" in result.output, result.output
    after = session.execute(text("SELECT * FROM review_communes ORDER BY 1, 2")).all()
    nonzero = [r for r in before if any(r[2:])]
    assert nonzero and nonzero == [r for r in after if any(r[2:])]


# --- periods ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "start", "stop"),
    [
        ({"kind": "month", "year": "2026", "month": "2"}, date(2026, 2, 1), date(2026, 3, 1)),
        ({"kind": "quarter", "year": "2025", "quarter": "4"}, date(2025, 10, 1), date(2026, 1, 1)),
        ({"kind": "year", "year": "2025"}, date(2025, 1, 1), date(2026, 1, 1)),
        ({"kind": "twelve", "year": "2026", "month": "11"}, date(2025, 12, 1), date(2026, 12, 1)),
        ({}, date(2025, 12, 1), date(2026, 12, 1)),  # the twelve months to this month
        (
            {"kind": "custom", "from": "2026-01-05", "to": "2026-01-05"},
            date(2026, 1, 5),
            date(2026, 1, 6),
        ),
    ],
)
def test_periods_parse(app, args, start, stop):
    with app.test_request_context():
        period = periods.parse(args, date(2026, 11, 28))
        assert (period.start, period.stop) == (start, stop)
        assert periods.parse(period.args(), date(2026, 11, 28)) == period


def test_previous_periods():
    assert OCTOBER.previous() == SEPTEMBER
    year = Period("year", date(2026, 1, 1), date(2027, 1, 1))
    assert year.previous() == Period("year", date(2025, 1, 1), date(2026, 1, 1))
    custom = Period("custom", date(2026, 3, 10), date(2026, 3, 20))
    assert custom.previous() == Period("custom", date(2026, 2, 28), date(2026, 3, 10))


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"kind": "week"}, "kind"),
        ({"kind": "month", "month": "13"}, "month"),
        ({"kind": "month", "year": "1999"}, "year"),
        ({"kind": "quarter", "quarter": "5"}, "quarter"),
        ({"kind": "custom", "from": "2026-02-30", "to": "2026-03-01"}, "from"),
        ({"kind": "custom", "from": "2026-03-02", "to": "2026-03-01"}, "to"),
        ({"kind": "custom", "from": "2020-01-01", "to": "2026-03-01"}, "to"),
    ],
)
def test_a_wrong_period_names_its_field(client, args, field):
    with client.application.test_request_context(), pytest.raises(FormInvalid) as raised:
        periods.parse(args, date(2026, 11, 28))
    assert list(raised.value.fields) == [field]


# --- the page and its scope --------------------------------------------------------------------


def test_the_page_shows_the_figures_and_answers_htmx_with_the_fragment(app, known):
    client = signed_in(app, "quantri")
    args = {"kind": "month", "year": "2026", "month": "10", "commune": known.a.commune_id}
    page = client.get("/review/", query_string=args)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in body
    assert 'data-figure="patrols"' in body and "Tháng 10/2026" in body
    fragment = client.get(
        "/review/", query_string=args, headers={"HX-Request": "true", "HX-Target": "review"}
    )
    text_ = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in text_ and 'id="review"' in text_


def test_the_table_by_month_names_the_months_in_the_readers_language(app, known):
    client = signed_in(app, "quantri")
    args = {"kind": "quarter", "year": "2026", "quarter": "3", "commune": known.a.commune_id}
    vietnamese = client.get("/review/", query_string=args).get_data(as_text=True)
    assert '<th scope="row">07/2026</th>' in vietnamese
    with client.session_transaction() as session:
        session["lang"] = "en"
    english = client.get("/review/", query_string=args).get_data(as_text=True)
    assert '<th scope="row">Jul 2026</th>' in english and "07/2026" not in english


def test_a_wrong_period_is_shown_beside_its_field(app, known):
    client = signed_in(app, "quantri")
    page = client.get("/review/", query_string={"kind": "month", "month": "13"})
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="review-month-error"' in body and 'aria-invalid="true"' in body


def test_an_officer_reviews_their_commune_and_its_teams_only(app, known):
    client = signed_in(app, "canbo.xa")
    officer = client.application
    with officer.app_context():
        commune_id = known.session.scalar(
            select(Account.commune_id).where(Account.username == "canbo.xa")
        )
    assert client.get("/review/").status_code == 200
    other = known.session.scalar(
        select(Area.id).where(Area.level == "commune", Area.id != commune_id)
    )
    assert client.get("/review/", query_string={"commune": other}).status_code == 404
    foreign_team = known.session.scalar(select(Team.id).where(Team.commune_id != commune_id))
    assert client.get("/review/", query_string={"team": foreign_team}).status_code == 404
    own_team = known.session.scalar(select(Team.id).where(Team.commune_id == commune_id))
    assert client.get("/review/", query_string={"team": own_team}).status_code == 200


def test_a_leader_reviews_their_team_only(app, known):
    client = signed_in(app, "totruong")
    body = client.get("/review/").get_data(as_text=True)
    assert known.a.name in body and 'id="review-commune"' not in body
    assert client.get("/review/", query_string={"team": known.b.id}).status_code == 404
    assert (
        client.get("/review/", query_string={"commune": known.other.commune_id}).status_code == 404
    )


def test_the_public_has_no_review(client, demo):
    response = client.get("/review/")
    assert response.status_code in (302, 401, 404)


def test_changing_the_commune_drops_the_team_chosen_before(app, known):
    client = signed_in(app, "quantri")
    base = {"kind": "month", "year": "2026", "month": "10"}
    team_page = client.get(
        "/review/", query_string={**base, "commune": known.a.commune_id, "team": known.a.id}
    )
    assert known.a.name in team_page.get_data(as_text=True).split(TITLE)[1][:300]
    moved = client.get(
        "/review/", query_string={**base, "commune": known.other.commune_id, "team": known.a.id}
    )
    title = moved.get_data(as_text=True).split(TITLE)[1][:300]
    assert moved.status_code == 200 and known.a.name not in title
    city = client.get("/review/", query_string={**base, "commune": "", "team": known.a.id})
    assert "Hà Nội" in city.get_data(as_text=True).split(TITLE)[1][:300]
