"""The maps of incidents and tips: each role's map shows its own items, the filters change what
is drawn, the city is aggregated, nothing loads from another host and nothing private shows."""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from portal.incidents.filters import LOCAL_TZ
from portal.models import Account, Area, Incident, TeamArea, TipContact
from tests.conftest import signed_in

NOW = datetime.now(LOCAL_TZ).replace(microsecond=0)
SECRET = "0912 345 678 Nguyễn Văn Bí Mật"  # a reporter's contact: never on a map
DESCRIPTION = "Mô tả riêng của việc, chỉ ở trang của việc"


def _point(session, area_id: int) -> str:
    """A point inside the village, as EWKT."""
    lon, lat = session.execute(
        select(
            func.ST_X(func.ST_PointOnSurface(Area.geom)),
            func.ST_Y(func.ST_PointOnSurface(Area.geom)),
        ).where(Area.id == area_id)
    ).one()
    return f"SRID=4326;POINT({lon} {lat})"


def _add(session, village, kind, status="received", days_ago=1, source="tip", team_id=None):
    receipt = f"M{session.scalar(select(func.count(Incident.id))) + 1:07d}{kind[:3].upper()}"
    incident = Incident(
        source=source,
        kind=kind,
        violation_kind="other" if kind == "violation" else None,
        receipt=receipt if source == "tip" else None,
        status=status,
        case_ref="VA-1" if status == "passed" else None,
        occurred_at=NOW - timedelta(days=days_ago),
        description=DESCRIPTION,
        geom=_point(session, village.id),
        located_by="village",
        area_id=village.id,
        commune_id=village.parent_id,
        team_id=team_id,
        has_contact=source == "tip",
    )
    session.add(incident)
    session.flush()
    if source == "tip":
        session.add(TipContact(incident_id=incident.id, name=SECRET, contact=SECRET))
    return incident.id


@pytest.fixture
def items(demo):
    """Items in the leader's village, in another village of the officer's commune, in another
    commune, and one too old for the default period."""
    session = demo
    officer = session.scalar(select(Account).where(Account.username == "canbo.xa"))
    leader = session.scalar(select(Account).where(Account.username == "totruong"))
    covered = set(
        session.scalars(
            select(TeamArea.area_id).where(
                TeamArea.team_id == leader.team_id, TeamArea.valid_to.is_(None)
            )
        )
    )
    villages = session.scalars(
        select(Area)
        .where(Area.parent_id == officer.commune_id, Area.level == "village")
        .where(Area.valid_to.is_(None), Area.geom.is_not(None))
        .order_by(Area.id)
    ).all()
    led = next(v for v in villages if v.id in covered)
    other = next(v for v in villages if v.id not in covered)
    elsewhere = session.scalars(
        select(Area)
        .where(Area.parent_id != officer.commune_id, Area.level == "village")
        .where(Area.valid_to.is_(None), Area.geom.is_not(None))
        .order_by(Area.id)
    ).first()
    ids = SimpleNamespace(
        theft=_add(session, led, "theft"),
        fire=_add(session, led, "fire", "closed", source="team", team_id=leader.team_id),
        drugs=_add(session, other, "drugs", "checked", days_ago=3),
        old=_add(session, led, "accident", days_ago=60, source="team", team_id=leader.team_id),
        gambling=_add(session, elsewhere, "gambling"),
        elsewhere_commune=elsewhere.parent_id,
        commune=officer.commune_id,
    )
    session.commit()
    return ids


def map_script(body: str) -> str:
    """The map's script, as the page carries it (an attribute's text, for incident-map.js)."""
    match = re.search(r'<div hidden data-map-script="([^"]*)"', body)
    return html.unescape(match.group(1)) if match else ""


def ids_on_map(body: str) -> set[int]:
    """The items a map links to: the markers drawn (each popup links to its item)."""
    return {int(n) for n in re.findall(r'"/incidents/(\d+)"', map_script(body))}


def heat_cells(body: str) -> list:
    """The heat layer's cells (lat, lon, weight), from the grid's rows and columns."""
    script = map_script(body)
    match = re.search(r"var rows = (\[.*?\]\]);\s*var grid = ([0-9.]+);", script, re.S)
    assert match, "no heat layer on the page"
    grid = float(match.group(2))
    return [[(r + 0.5) * grid, (c + 0.5) * grid, w] for r, c, w in json.loads(match.group(1))]


def get(client, url, **headers):
    response = client.get(url, headers=headers)
    return response, response.get_data(as_text=True)


# --- who sees what --------------------------------------------------------------------------


def test_the_officer_sees_their_communes_items_clustered_and_no_other(app, items):
    response, body = get(signed_in(app, "canbo.xa"), "/incidents/map")
    assert response.status_code == 200
    assert ids_on_map(body) == {items.theft, items.fire, items.drugs}
    assert "L.markerClusterGroup" in map_script(body)
    assert 'data-kind="theft"' in body and 'data-status="closed"' in body


def test_the_leader_sees_only_their_teams_villages(app, items):
    _response, body = get(signed_in(app, "totruong"), "/incidents/map")
    assert ids_on_map(body) == {items.theft, items.fire}


def test_the_admin_narrows_the_city_to_a_commune(app, items):
    client = signed_in(app, "quantri")
    _response, body = get(client, f"/incidents/map?commune_id={items.elsewhere_commune}")
    assert ids_on_map(body) == {items.gambling}
    _response, body = get(client, f"/incidents/map?commune_id={items.commune}")
    assert ids_on_map(body) == {items.theft, items.fire, items.drugs}


def test_an_officer_cannot_ask_for_another_commune(app, items):
    response, _body = get(
        signed_in(app, "canbo.xa"), f"/incidents/map?commune_id={items.elsewhere_commune}"
    )
    assert response.status_code == 404


def test_a_public_user_is_sent_to_sign_in(client, items):
    response = client.get("/incidents/map")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"] or "dang-nhap" in response.headers["Location"]


def test_no_contact_or_description_reaches_the_map(app, items):
    for user in ("canbo.xa", "totruong", "quantri"):
        _response, body = get(signed_in(app, user), "/incidents/map")
        for text in (body, map_script(body)):
            assert SECRET not in text and "Bí Mật" not in text
            assert DESCRIPTION not in text


# --- filters -----------------------------------------------------------------------------------


def test_filters_by_kind_status_and_period_change_what_is_drawn(app, items):
    client = signed_in(app, "canbo.xa")
    assert ids_on_map(get(client, "/incidents/map?kind=fire")[1]) == {items.fire}
    both = get(client, "/incidents/map?kind=fire&kind=drugs")[1]
    assert ids_on_map(both) == {items.fire, items.drugs}
    assert ids_on_map(get(client, "/incidents/map?status=checked")[1]) == {items.drugs}
    assert ids_on_map(get(client, "/incidents/map?source=team")[1]) == {items.fire}
    assert ids_on_map(get(client, "/incidents/map?days=90")[1]) == {
        items.theft,
        items.fire,
        items.drugs,
        items.old,
    }
    day = (NOW - timedelta(days=3)).date().isoformat()
    assert ids_on_map(get(client, f"/incidents/map?from={day}&to={day}")[1]) == {items.drugs}


def test_the_fragment_is_the_section_alone_with_its_map_script(app, items):
    client = signed_in(app, "canbo.xa")
    response, body = get(
        client, "/incidents/map?kind=theft", **{"HX-Request": "true", "HX-Target": "incident-map"}
    )
    assert response.status_code == 200
    assert '<section id="incident-map" hx-target="this"' in body
    assert "<html" not in body and "<nav" not in body
    assert ids_on_map(body) == {items.theft}
    # the script arrives as text: HTMX drops scripts, our own runs it under the page's nonce
    assert re.search(r'<div hidden data-map-script="[^"]*L\.markerClusterGroup', body)
    assert "<script" not in body


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("kind=cuop", "kind"),
        ("status=done", "status"),
        ("source=radio", "source"),
        ("days=12", "days"),
        ("from=hôm-qua", "from"),
        ("view=pie", "view"),
        ("commune_id=abc", "commune_id"),
    ],
)
def test_a_bad_filter_answers_400_naming_it(app, items, query, name):
    response, body = get(signed_in(app, "quantri"), f"/incidents/map?{query}")
    assert response.status_code == 400
    assert name in body


# --- the city ------------------------------------------------------------------------------------


def test_the_city_heat_map_aggregates_every_item_in_the_period(app, items, session):
    _response, body = get(signed_in(app, "quantri"), "/incidents/map")
    cells = heat_cells(body)
    in_period = session.scalar(
        select(func.count(Incident.id)).where(Incident.occurred_at >= NOW - timedelta(days=29))
    )
    assert sum(c[2] for c in cells) == in_period == 4
    assert ids_on_map(body) == set()  # no markers: counts only
    assert "L.markerClusterGroup" not in map_script(body)


def test_the_city_by_village_counts_each_village_once(app, items):
    _response, body = get(signed_in(app, "quantri"), "/incidents/map?view=villages")
    rows = json.loads(re.search(r"var rows = (\[.*?\]\]);", map_script(body), re.S).group(1))
    assert len(rows) == 3  # the leader's village (2 items), another (1) and another commune's (1)
    counts = sorted(int(re.search(r": (\d+) ", r[3]).group(1)) for r in rows)
    assert counts == [1, 1, 2]
    assert ids_on_map(body) == set()


def test_a_hostile_village_name_reaches_the_city_map_as_text(app, items, session):
    payload = "<img src=x onerror=alert(1)>"
    village = session.scalar(select(Incident.area_id).where(Incident.id == items.drugs))
    session.get(Area, village).name = payload
    session.commit()
    _response, body = get(signed_in(app, "quantri"), "/incidents/map?view=villages")
    script = map_script(body)
    assert "&lt;img src=x onerror=alert(1)&gt;" in script  # shown literally by the tooltip
    assert "<img" not in script and "<img" not in body


def test_every_asset_comes_from_our_own_server(app, items):
    for url in ("/incidents/map", "/incidents/map?view=villages"):
        _response, body = get(signed_in(app, "quantri"), url)
        assert "/vendor/leaflet.markercluster/dist/leaflet.markercluster.js" in body
        assert "/vendor/leaflet.heat/dist/leaflet-heat.js" in body
        assert "/vendor/leaflet.markercluster/dist/MarkerCluster.css" in body
        assert "/vendor/leaflet.markercluster/dist/MarkerCluster.Default.css" in body
        assert not re.search(r"(src|href)=\"(https?:)?//", body)
        for script in [map_script(body), *re.findall(r"<script[^>]*>(.*?)</script>", body, re.S)]:
            assert not re.search(r"https?://", script)


def test_the_vendor_files_are_served(app, items):
    client = signed_in(app, "quantri")
    for path in (
        "/vendor/leaflet.markercluster/dist/leaflet.markercluster.js",
        "/vendor/leaflet.markercluster/dist/MarkerCluster.Default.css",
        "/vendor/leaflet.heat/dist/leaflet-heat.js",
    ):
        assert client.get(path).status_code == 200, path


def test_the_staff_menu_leads_to_the_queue_and_the_queue_to_the_map(app, items):
    for user in ("canbo.xa", "totruong", "quantri"):
        client = signed_in(app, user)
        _response, body = get(client, "/areas/")
        assert 'href="/incidents/"' in body
        _response, body = get(client, "/incidents/")
        assert 'href="/incidents/map"' in body
