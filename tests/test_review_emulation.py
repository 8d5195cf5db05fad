"""The emulation ranking: criteria as data, scores against the best, weighted totals, shared
ranks, the admin's weights (audited, refused when wrong) and each role's scope."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from portal.models import Account, Area, AuditEntry, EmulationCriterion, Incident, Patrol, Team
from portal.patrols.services import LOCAL, today
from portal.review import emulation
from portal.review.emulation import Criterion
from portal.review.periods import Period, add_months
from portal.review.queries import Place
from portal.review.services import Figures, compute
from portal.tips import receipts
from tests.conftest import csrf_token, signed_in

# --- scores by hand, no database ----------------------------------------------------------------


def test_scores_are_against_the_best_and_totals_are_weighted_averages():
    criteria = [
        Criterion("patrols_per_member", "", 3.0),
        Criterion("valuable_tips", "", 1.0),
    ]
    units = [
        (1, "Tổ An", Figures(patrols=20, members=10, valuable=1)),  # 2 per member
        (2, "Tổ Bình", Figures(patrols=10, members=10, valuable=4)),  # 1 per member
        (3, "Tổ Cường", Figures(patrols=0, members=0, valuable=2)),  # no members: no value
    ]
    rows = emulation.score(criteria, units)
    by_name = {r.name: r for r in rows}
    # An: 100 and 25 → (3·100 + 25)/4 = 81.25; Bình: 50 and 100 → 62.5; Cường: 0 and 50 → 12.5
    assert [c.score for c in by_name["Tổ An"].cells] == [100.0, 25.0]
    assert by_name["Tổ Cường"].cells[0].value is None
    assert [(r.name, r.total, r.rank) for r in rows] == [
        ("Tổ An", 81.25, 1),
        ("Tổ Bình", 62.5, 2),
        ("Tổ Cường", 12.5, 3),
    ]


def test_equal_totals_share_a_rank_and_the_next_rank_skips():
    criteria = [Criterion("valuable_tips", "", 1.0), Criterion("joint_patrols", "", 1.0)]
    units = [
        (1, "B", Figures(valuable=2, joint=0)),
        (2, "A", Figures(valuable=0, joint=2)),  # the same total another way round
        (3, "C", Figures(valuable=1, joint=0)),
        (4, "D", Figures()),
    ]
    rows = emulation.score(criteria, units)
    assert [(r.name, r.rank) for r in rows] == [("A", 1), ("B", 1), ("C", 3), ("D", 4)]


def test_lower_is_better_scores_the_smallest_value_best():
    criteria = [Criterion("violations_found", "", 1.0, higher_better=False)]
    rows = emulation.score(criteria, [(1, "X", Figures(violations=2)), (2, "Y", Figures())])
    assert [(r.name, r.total) for r in rows] == [("Y", 100.0), ("X", 0.0)]


@pytest.mark.parametrize("text", ["-1", "abc", "101", "nan", ""])
def test_a_weight_out_of_range_or_not_a_number_is_a_message(text):
    assert isinstance(emulation._weight(text), str)


def test_a_weight_may_be_written_with_a_decimal_comma():
    assert emulation._weight("2,5") == 2.5


# --- the ranking on the demo ---------------------------------------------------------------------


@pytest.fixture
def month():
    """Last month: whole, over, and the period every test here ranks."""
    first = add_months(today().replace(day=1), -1)
    return Period("month", first, add_months(first, 1))


@pytest.fixture
def ba_dinh(demo, month):
    """The officer's commune, three of its teams (A, B, C) and their members in the month."""
    commune_id = demo.scalar(select(Account.commune_id).where(Account.username == "canbo.xa"))
    leader_team = demo.scalar(select(Account.team_id).where(Account.username == "totruong"))
    ids = demo.scalars(
        select(Team.id)
        .where(Team.commune_id == commune_id, Team.dissolved_on.is_(None))
        .order_by(Team.id)
    ).all()
    _total, units, _m, _k = compute(month, Place("commune", commune_id))
    teams = [t for t in ids if units[t].members][:3]
    assert len(teams) == 3
    return SimpleNamespace(
        id=commune_id,
        teams=teams,
        members={t: units[t].members for t in teams},
        leader_team=leader_team,
        all_teams=set(ids),
    )


def add_patrols(session, team_id: int, month: Period, count: int) -> None:
    team = session.get(Team, team_id)
    for i in range(count):
        day = month.start + timedelta(days=i % 28)
        start = datetime(day.year, day.month, day.day, 19, tzinfo=LOCAL)
        end = start + timedelta(hours=3)
        session.add(
            Patrol(
                team_id=team_id,
                commune_id=team.commune_id,
                day=day,
                planned_start=start,
                planned_end=end,
                status="done",
                started_at=start,
                ended_at=end,
                joint_police=False,
                violations=0,
                handed_to_police=0,
            )
        )
    session.commit()


def add_valuable_tips(session, team_id: int, month: Period, count: int) -> None:
    team = session.get(Team, team_id)
    lon, lat = session.execute(
        select(
            func.ST_X(func.ST_PointOnSurface(Area.geom)),
            func.ST_Y(func.ST_PointOnSurface(Area.geom)),
        ).where(Area.id == team.commune_id)
    ).one()
    when = datetime(month.start.year, month.start.month, 10, 9, tzinfo=LOCAL)
    for _i in range(count):
        session.add(
            Incident(
                source="tip",
                kind="theft",
                receipt=receipts.new_receipt(),
                status="valuable",
                valuable=True,
                occurred_at=when,
                received_at=when,
                description="Tin thử cho xếp hạng thi đua.",
                geom=f"SRID=4326;POINT({lon} {lat})",
                located_by="map",
                commune_id=team.commune_id,
                team_id=team_id,
                handed_to_police=False,
            )
        )
    session.commit()


@pytest.fixture
def known(demo, ba_dinh, month):
    """A: 2 patrols a member, no tips; B: 1 a member, 2 valuable tips; C: none, 1 tip."""
    a, b, c = ba_dinh.teams
    add_patrols(demo, a, month, 2 * ba_dinh.members[a])
    add_patrols(demo, b, month, ba_dinh.members[b])
    add_valuable_tips(demo, b, month, 2)
    add_valuable_tips(demo, c, month, 1)
    return SimpleNamespace(a=a, b=b, c=c)


def url(month: Period, **args) -> str:
    query = "&".join(f"{k}={v}" for k, v in {**month.args(), **args}.items())
    return f"/review/emulation?{query}"


def weights(**given) -> dict:
    """Every criterion at 0 but those given."""
    return {f"weight-{c.key}": str(given.get(c.key, 0)) for c in emulation.DEFAULTS}


def set_weights(client, month, commune, **given):
    token = csrf_token(client, url(month, commune=commune))
    return client.post(url(month, commune=commune), data={**weights(**given), "csrf_token": token})


ROW = re.compile(r'<tr data-unit="(\d+)" data-rank="(\d+)"')
TOTAL = re.compile(r'data-total="([\d.]+)"')


def table(html: str) -> list[tuple[int, int, float]]:
    """(unit, rank, total) of every row of the page's ranking, in order."""
    body = html.split('data-testid="emulation-table"', 1)[1]
    rows = [(int(u), int(r)) for u, r in ROW.findall(body)]
    totals = [float(t) for t in TOTAL.findall(body)]
    return [(u, r, t) for (u, r), t in zip(rows, totals, strict=True)]


def test_the_ranking_follows_the_figures_and_a_weight_changes_the_order(
    app, demo, ba_dinh, known, month
):
    client = signed_in(app, "quantri")
    assert (
        set_weights(client, month, ba_dinh.id, patrols_per_member=1, valuable_tips=1).status_code
        == 303
    )
    rows = table(client.get(url(month, commune=ba_dinh.id)).get_data(as_text=True))
    # patrols a member: A 2 (100), B 1 (50), C 0; valuable tips: B 2 (100), C 1 (50), A 0
    assert rows[:3] == [(known.b, 1, 75.0), (known.a, 2, 50.0), (known.c, 3, 25.0)]
    assert {r for _u, r, t in rows[3:]} <= {4} and all(t == 0 for _u, _r, t in rows[3:])
    assert {u for u, _r, _t in rows} <= ba_dinh.all_teams

    assert (
        set_weights(client, month, ba_dinh.id, patrols_per_member=3, valuable_tips=1).status_code
        == 303
    )
    rows = table(client.get(url(month, commune=ba_dinh.id)).get_data(as_text=True))
    # A (3·100 + 0)/4 = 75, B (3·50 + 100)/4 = 62.5, C 50/4 = 12.5
    assert rows[:3] == [(known.a, 1, 75.0), (known.b, 2, 62.5), (known.c, 3, 12.5)]
    logged = demo.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "emulation_criterion")
    ).all()
    updates = [e for e in logged if e.action == "update"]
    assert len(updates) == 1 and updates[0].changes["weight"] == [1.0, 3.0]
    assert updates[0].actor == "quantri"


@pytest.mark.parametrize(
    ("value", "message"),
    [("-1", "Trọng số phải từ 0 đến 100."), ("nhiều", "Trọng số phải là một số.")],
)
def test_a_wrong_weight_is_refused_beside_its_field_and_changes_nothing(
    app, demo, ba_dinh, month, value, message
):
    client = signed_in(app, "quantri")
    token = csrf_token(client, url(month))
    data = {**weights(valuable_tips=1), "weight-coverage": value, "csrf_token": token}
    response = client.post(url(month), data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'<p class="field-error" id="weight-coverage-error">{message}</p>' in html
    assert 'id="weight-coverage" name="weight-coverage"' in html and 'aria-invalid="true"' in html
    assert demo.scalar(select(func.count()).select_from(EmulationCriterion)) == 0
    logged = select(func.count()).where(AuditEntry.entity_type == "emulation_criterion")
    assert demo.scalar(logged) == 0


def test_all_weights_zero_is_refused(app, demo, month):
    client = signed_in(app, "quantri")
    token = csrf_token(client, url(month))
    response = client.post(url(month), data={**weights(), "csrf_token": token})
    assert response.status_code == 422
    assert "Cần ít nhất một tiêu chí có trọng số lớn hơn 0." in response.get_data(as_text=True)


def test_the_city_ranks_its_communes_and_the_csv_has_the_figures(app, demo, ba_dinh, known, month):
    client = signed_in(app, "quantri")
    set_weights(client, month, ba_dinh.id, patrols_per_member=1)
    html = client.get(url(month)).get_data(as_text=True)
    rows = table(html)
    communes = set(demo.scalars(select(Area.id).where(Area.level == "commune")))
    assert {u for u, _r, _t in rows} <= communes and len(rows) == 3
    assert rows[0][:2] == (ba_dinh.id, 1)  # the only commune with patrols
    assert 'data-testid="emulation-weights"' in html  # the admin's form

    response = client.get(url(month).replace("/emulation?", "/emulation.csv?"))
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert lines[0][:2] == ["Hạng", "Xã, phường"] and lines[0][-1] == "Tổng điểm"
    assert len(lines) == 1 + len(rows)
    assert lines[1][0] == "1" and float(lines[1][-1]) == 100.0


def test_an_officer_ranks_their_communes_teams_only(app, demo, ba_dinh, known, month):
    client = signed_in(app, "canbo.xa")
    response = client.get(url(month))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert {u for u, _r, _t in table(html)} <= ba_dinh.all_teams
    assert 'data-testid="emulation-weights"' not in html  # weights are the admin's
    other = demo.scalar(
        select(Area.id).where(Area.level == "commune", Area.id != ba_dinh.id).limit(1)
    )
    assert client.get(url(month, commune=other)).status_code == 404
    token = csrf_token(client, url(month))
    refused = client.post(url(month), data={**weights(valuable_tips=1), "csrf_token": token})
    assert refused.status_code == 404  # an admin's action, as elsewhere: no such page
    assert demo.scalar(select(func.count()).select_from(EmulationCriterion)) == 0


def test_a_leader_sees_their_teams_rank_within_its_commune(app, demo, ba_dinh, known, month):
    client = signed_in(app, "totruong")
    html = client.get(url(month)).get_data(as_text=True)
    leader_commune = demo.get(Team, ba_dinh.leader_team).commune_id
    teams = set(demo.scalars(select(Team.id).where(Team.commune_id == leader_commune)))
    # ranked among the commune's teams, but shown only their own row: the others' figures are
    # outside a leader's scope
    assert {u for u, _r, _t in table(html)} == {ba_dinh.leader_team}
    assert f'<tr data-unit="{ba_dinh.leader_team}"' in html and 'aria-current="true"' in html
    n = len([t for t in teams if demo.get(Team, t).dissolved_on is None])
    assert 'data-testid="emulation-mine"' in html and f"/{n} với" in html
    csv = client.get(url(month).replace("/review/emulation", "/review/emulation.csv"))
    assert csv.status_code == 200 and len(csv.get_data(as_text=True).strip().splitlines()) == 2
    other = demo.scalar(
        select(Area.id).where(Area.level == "commune", Area.id != leader_commune).limit(1)
    )
    assert client.get(url(month, commune=other)).status_code == 404


def test_the_review_links_to_the_ranking(app, demo):
    html = signed_in(app, "quantri").get("/review/").get_data(as_text=True)
    assert 'data-testid="emulation-link"' in html and "Xếp hạng thi đua" in html


def test_htmx_gets_the_ranking_alone_and_long_rankings_are_paged(app, demo, month):
    client = signed_in(app, "canbo.xa")
    headers = {"HX-Request": "true", "HX-Target": "emulation"}
    html = client.get(url(month), headers=headers).get_data(as_text=True)
    assert html.lstrip().startswith('<div id="emulation"') and "<html" not in html
    rows = [emulation.Ranked(i, f"Tổ {i}", [], rank=i) for i in range(1, 8)]
    result = emulation.Ranking(Place("city"), "", month, "teams", [], rows)
    second = result.page(2, 3)
    assert [r.id for r in second.items] == [4, 5, 6] and second.total == 7 and second.has_more


def test_the_review_of_a_commune_and_of_a_team_answers(app, demo, ba_dinh, known, month):
    """Place.unit and Place.where on the Team rows themselves (their id, not a team_id)."""
    assert signed_in(app, "totruong").get("/review/").status_code == 200
    admin = signed_in(app, "quantri")
    assert admin.get(f"/review/?commune={ba_dinh.id}").status_code == 200
    assert admin.get(f"/review/?commune={ba_dinh.id}&team={known.a}").status_code == 200
