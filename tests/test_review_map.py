"""The review's map: a figure by village (a commune, a team) or by commune (the city), counted
by the review's rules, in the account's scope only, with every name reaching the map as text."""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from portal.incidents.filters import LOCAL_TZ, today
from portal.models import Account, Area, Incident, Patrol, TeamArea
from portal.review import maps
from portal.review.periods import add_months, month_start
from tests.conftest import signed_in

MAP = {"HX-Request": "true", "HX-Target": "review-map"}


def _patrol(session, team_id, commune_id, day, violations=0, status="done"):
    start = datetime(day.year, day.month, day.day, 19, tzinfo=LOCAL_TZ)
    session.add(
        Patrol(
            team_id=team_id,
            commune_id=commune_id,
            day=day,
            planned_start=start,
            planned_end=start + timedelta(hours=2),
            status=status,
            started_at=start if status == "done" else None,
            ended_at=start + timedelta(hours=2) if status == "done" else None,
            joint_police=False,
            violations=violations,
            handed_to_police=0,
        )
    )


def _point(session, area_id: int) -> str:
    lon, lat = session.execute(
        select(
            func.ST_X(func.ST_PointOnSurface(Area.geom)),
            func.ST_Y(func.ST_PointOnSurface(Area.geom)),
        ).where(Area.id == area_id)
    ).one()
    return f"SRID=4326;POINT({lon} {lat})"


def _item(session, village, at, *, source="tip", kind="theft", team_id=None, **more):
    number = session.scalar(select(func.count(Incident.id))) + 1
    incident = Incident(
        source=source,
        kind=kind,
        receipt=f"R{number:07d}MAP" if source == "tip" else None,
        status="received",
        occurred_at=at,
        received_at=at,
        description="việc để đếm",
        geom=_point(session, village.id),
        located_by="village",
        area_id=village.id,
        commune_id=village.parent_id,
        team_id=team_id,
        has_contact=False,
        **more,
    )
    session.add(incident)
    session.flush()
    return incident


@pytest.fixture
def counted(demo):
    """In a village of the leader's team, in the last whole month: two done patrols (3 and 1
    violations) and a cancelled one; three tips of which one valuable and one merged into
    another; a fire the team recorded; and a tip on the month's last local evening after
    17:00 UTC (still that month in Vietnam)."""
    session = demo
    leader = session.scalar(select(Account).where(Account.username == "totruong"))
    village = session.scalars(
        select(Area)
        .join(TeamArea, TeamArea.area_id == Area.id)
        .where(TeamArea.team_id == leader.team_id, TeamArea.valid_to.is_(None))
        .order_by(Area.id)
    ).first()
    month = add_months(month_start(today()), -1)
    day = month + timedelta(days=9)
    _patrol(session, leader.team_id, village.parent_id, day, violations=3)
    _patrol(session, leader.team_id, village.parent_id, day + timedelta(days=1), violations=1)
    _patrol(session, leader.team_id, village.parent_id, day, status="cancelled")
    at = datetime(day.year, day.month, day.day, 9, tzinfo=LOCAL_TZ)
    first = _item(session, village, at, valuable=True)
    _item(session, village, at)
    _item(session, village, at, merged_into_id=first.id)
    _item(session, village, at, source="team", kind="fire", team_id=leader.team_id)
    last_evening = datetime.combine(add_months(month, 1), datetime.min.time(), LOCAL_TZ)
    _item(session, village, last_evening - timedelta(hours=2))  # 22:00 local, 15:00 UTC
    found = SimpleNamespace(id=village.id, name=village.name, parent_id=village.parent_id)
    session.commit()
    return found, month


def values(body: str) -> dict[int, str]:
    """The map's table: area id → the value shown."""
    rows = re.findall(
        r'<tr data-area="(\d+)" data-class="[^"]*"><th scope="row">.*?</th><td>([^<]*)</td>', body
    )
    return {int(i): v for i, v in rows}


def map_script(body: str) -> str:
    match = re.search(r'<div hidden data-map-script="([^"]*)"', body)
    return html.unescape(match.group(1)) if match else ""


def features(body: str) -> list[dict]:
    return [
        f
        for layer in re.findall(r"_add\((\{.*\})\);", map_script(body))
        for f in json.loads(layer)["features"]
    ]


def month_args(month) -> str:
    return f"kind=month&year={month.year}&month={month.month}"


@pytest.mark.parametrize(
    ("figure", "expected"),
    [("patrols", "2"), ("violations", "4"), ("tips", "3"), ("valuable", "1"), ("fire", "1")],
)
def test_a_villages_figure_for_a_whole_month(app, counted, figure, expected):
    village, month = counted
    client = signed_in(app, "canbo.xa")
    url = f"/review/?{month_args(month)}&figure={figure}"
    response = client.get(url, headers=MAP)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert values(body)[village.id] == expected
    drawn = [f for f in features(body) if f["properties"]["label"].startswith(village.name + " ·")]
    assert len(drawn) == 1 and drawn[0]["properties"]["label"].endswith(f": {expected}")


def test_days_outside_whole_months_count_the_patrols_themselves(app, counted):
    village, month = counted
    client = signed_in(app, "canbo.xa")
    # the 9th to the 11th: not a whole month, read from the patrols and items themselves
    a, b = month + timedelta(days=8), month + timedelta(days=10)
    body = client.get(f"/review/?kind=custom&from={a}&to={b}", headers=MAP).get_data(as_text=True)
    assert values(body)[village.id] == "2"
    body = client.get(f"/review/?kind=custom&from={a}&to={b}&figure=tips", headers=MAP).get_data(
        as_text=True
    )
    assert values(body)[village.id] == "2"  # the late tip is on the month's last day


def test_the_page_draws_the_map_and_the_leaders_team_map_has_its_villages(app, demo, counted):
    village, month = counted
    body = signed_in(app, "totruong").get(f"/review/?{month_args(month)}").get_data(as_text=True)
    assert 'id="review-map"' in body and "review-map.js" in body
    shown = values(body)
    assert shown[village.id] == "2"
    team = demo.scalar(select(Account.team_id).where(Account.username == "totruong"))
    covered = demo.scalars(
        select(TeamArea.area_id).where(TeamArea.team_id == team, TeamArea.valid_to.is_(None))
    )
    assert set(shown) == set(covered)
    assert len(features(body)) == len(shown)


def test_the_city_map_has_the_reviews_figures_by_commune(app, counted):
    village, month = counted
    client = signed_in(app, "quantri")
    body = client.get(f"/review/?{month_args(month)}&figure=patrols").get_data(as_text=True)
    shown = values(body)
    # the commune's patrols: the team's two done patrols (once each, not once per village)
    assert shown[village.parent_id] == "2"
    assert len(shown) == 3  # the demo's three communes
    assert "Bảng số liệu của bản đồ (3 xã, phường)" in body
    with client.session_transaction() as session:
        session["lang"] = "en"
    english = client.get(f"/review/?{month_args(month)}&figure=patrols").get_data(as_text=True)
    assert "The map&#39;s figures as a table (3 communes and wards)" in english
    body = client.get(f"/review/?{month_args(month)}&figure=coverage", headers=MAP)
    assert body.status_code == 200 and "%" in values(body.get_data(as_text=True))[village.parent_id]


def test_an_unknown_figure_is_refused_and_a_city_figure_falls_back_for_villages(app, counted):
    client = signed_in(app, "canbo.xa")
    assert client.get("/review/?figure=nothing", headers=MAP).status_code == 400
    body = client.get("/review/?figure=coverage", headers=MAP).get_data(as_text=True)
    assert 'value="patrols" selected' in body


def test_an_officer_cannot_get_another_communes_map(app, demo):
    officer = demo.scalar(select(Account).where(Account.username == "canbo.xa"))
    other = demo.scalar(
        select(Area.id).where(Area.level == "commune", Area.id != officer.commune_id).limit(1)
    )
    client = signed_in(app, "canbo.xa")
    assert client.get(f"/review/?commune={other}&figure=tips", headers=MAP).status_code == 404
    assert client.get(f"/review/?commune={other}").status_code == 404
    leader = signed_in(app, "totruong")
    assert leader.get(f"/review/?commune={other}", headers=MAP).status_code == 404


def test_a_name_with_markup_reaches_the_map_as_text(app, demo, counted):
    village, month = counted
    name = "<script>alert(1)</script> Thôn & 2"
    demo.get(Area, village.id).name = name
    demo.commit()
    body = signed_in(app, "canbo.xa").get(f"/review/?{month_args(month)}").get_data(as_text=True)
    assert "<script>alert(1)" not in body
    assert html.escape(name) in body  # the table shows it as text
    labels = [f["properties"]["label"] for f in features(body)]
    assert any(label.startswith(html.escape(name)) for label in labels)  # escaped once for Leaflet
    assert not any("<script>" in label for label in labels)


def test_breaks_make_five_classes_of_about_as_many_areas():
    assert maps.breaks(list(range(1, 11))) == [2, 4, 6, 8, 10]
    assert maps.breaks([0, 0, 0, 5]) == [0, 5]  # equal bounds merge
    # most areas at 100%: the distinct values are split instead, 100% a class of its own
    skewed = [100.0] * 20 + [90.0, 92.0, 94.0, 96.0, 98.0]
    assert maps.breaks(skewed, places=1) == [92.0, 94.0, 96.0, 98.0, 100.0]
    assert maps.breaks([]) == []
    assert maps.breaks([0.04, 0.06], places=1) == [0.0, 0.1]
    uppers = maps.breaks([1.26, 3.14, 7.77], places=1)
    assert uppers[-1] >= 7.77 and maps.class_of(7.77, uppers) == "c4"
    assert maps.class_of(None, uppers) == "none"
    # fewer classes spread over the ramp: the highest is always the darkest
    assert maps.class_keys(3) == ["c0", "c2", "c4"] and maps.class_of(5, [0, 5]) == "c4"
    assert maps.class_keys(5) == ["c0", "c1", "c2", "c3", "c4"] and maps.class_keys(1) == ["c2"]


def test_a_kept_map_is_drawn_again_when_what_it_shows_changes(app, demo, counted):
    """Maps are kept per worker by what they show: a new value or a new name draws anew."""
    village, month = counted
    client = signed_in(app, "canbo.xa")
    url = f"/review/?{month_args(month)}"
    names = (village.name, "Thôn đổi tên")

    def label() -> str:
        body = client.get(url, headers=MAP).get_data(as_text=True)
        labels = [f["properties"]["label"] for f in features(body)]
        return next(x for x in labels if x.split(" · ")[0] in names)

    assert label().endswith(": 2") and label().endswith(": 2")  # drawn, then kept
    team = demo.scalar(select(Account.team_id).where(Account.username == "totruong"))
    _patrol(demo, team, village.parent_id, month + timedelta(days=3))
    demo.commit()
    assert label().endswith(": 3")
    demo.get(Area, village.id).name = "Thôn đổi tên"
    demo.commit()
    assert label().startswith("Thôn đổi tên · ")
