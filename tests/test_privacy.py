"""No member's private data on any public page or API response (Law 30/2023: the team, its
leader and their phone are public; birth date, address and personal details are not).

Every route anyone may open (test_security.PUBLIC) is read, for every area and at a point in
every village, as a page and as the fragments HTMX asks for, in both languages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from geoalchemy2.shape import to_shape
from sqlalchemy import select, text

from portal.models import Area, Member
from portal.ogc.collections import PUBLIC as OGC_PUBLIC
from tests.test_security import PUBLIC, routes

EDUCATION_WORDS = ("lower_secondary", "upper_secondary", "Trung học", "education", "học vấn")
PRIVATE_KEYS = ("birth", "resident", "residence", "education", "age_approval", "appointment")


@dataclass
class Private:
    dates: set[str]  # birth dates and residence dates, in every way we write dates
    names: set[str]  # plain members: only the leader and deputies are posted
    approvals: set[str]

    def leaked(self, body: str) -> set[str]:
        found = set(DATE.findall(body)) & self.dates
        words = [w for w in WORD.findall(body) if not w.isdigit()]  # names have no digits
        grams = {" ".join(words[i : i + n]) for n in (2, 3, 4, 5) for i in range(len(words))}
        found |= grams & self.names
        return found | {a for a in self.approvals if a in body}


DATE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
WORD = re.compile(r"\w+")


def private_values(session) -> Private:
    members = session.scalars(select(Member)).all()
    posted = {m.full_name for m in members if m.role in ("leader", "deputy")}
    private = Private(set(), set(), set())
    for m in members:
        for day in (m.birth_date, m.resident_since):
            if day:
                private.dates |= {
                    day.isoformat(),
                    day.strftime("%d/%m/%Y"),
                    f"{day.day}/{day.month}/{day.year}",
                }
        if m.age_approval:
            private.approvals.add(m.age_approval)
        if m.role == "member" and m.full_name not in posted:
            private.names.add(" ".join(WORD.findall(m.full_name)))
    return private


def public_requests(app, session, every: int) -> list[tuple[str, dict]]:
    """(url, headers) of every public response worth reading, with real arguments.

    Each village's card is read at a point in it, as JSON and as the fragment a tap swaps
    in; whole pages (maps, lists) for every commune and every `every`-th village.
    """
    card = {"HX-Request": "true", "HX-Target": "card"}
    requests = [(url, {}) for url in ("/", "/tra-cuu", "/login", "/healthz")]
    for q in ("ba dinh", "to dan pho so 1", "ngoc ha"):
        requests.append((f"/tra-cuu?q={q}", {}))
        requests.append((f"/tra-cuu?q={q}", {"HX-Request": "true", "HX-Target": "lookup-results"}))
    areas = session.scalars(select(Area).where(Area.valid_to.is_(None)).order_by(Area.id)).all()
    for n, area in enumerate(areas):
        whole_page = area.level != "village" or n % every == 0
        if area.level == "village":
            p = to_shape(area.geom).representative_point()
            point = f"lat={p.y}&lon={p.x}"
            requests.append((f"/api/lookup?{point}", {}))
            requests.append((f"/tra-cuu/diem?{point}", card))
            if whole_page:
                requests.append((f"/tra-cuu/diem?{point}", {}))
        if whole_page:
            requests.append((f"/tra-cuu/{area.id}", {}))
            requests.append(
                (f"/tra-cuu/{area.id}?page=2", {"HX-Request": "true", "HX-Target": "villages"})
            )
    # issue 17: every feature of the OGC API's public layers, as a GIS client reads them
    for collection in OGC_PUBLIC:
        requests.append((f"/ogc/collections/{collection}/items?limit=1000", {}))
        requests.append((f"/ogc/collections/{collection}/items?limit=1000&offset=1000", {}))
    # the walk of every rule reaches public routes added later without a line here
    for endpoint, method, url in routes(app, session):
        if endpoint in PUBLIC and method == "GET" and endpoint not in ("static", "vendor"):
            requests.append((url, {}))
    return requests


@pytest.mark.parametrize(("lang", "every"), [("vi", 10), ("en", 50)])
def test_no_public_response_carries_private_member_data(
    app, client, demo, lang, every, monkeypatch
):
    private = private_values(demo)
    # a job worker alive for the whole walk, so that /readyz answers 200 like the other pages
    demo.execute(text("INSERT INTO procrastinate_workers DEFAULT VALUES"))
    demo.commit()  # releases the test's savepoint: the row outlives the first request
    monkeypatch.setitem(app.config, "JOBS_STALLED_SECONDS", 3600)
    # the demo's members are really there, so the search below can find them
    assert len(private.dates) > 1000 and len(private.names) > 100
    token_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', token_page).group(1)
    client.post("/lang", data={"lang": lang, "csrf_token": token, "next": "/tra-cuu"})
    read = 0
    for url, headers in public_requests(app, demo, every):
        response = client.get(url, headers=headers)
        assert response.status_code in (200, 302, 303, 400, 404), (url, response.status_code)
        body = response.get_data(as_text=True)
        assert not private.leaked(body), (url, headers, sorted(private.leaked(body))[:5])
        assert not [w for w in EDUCATION_WORDS if w in body], url
        if response.is_json and url != "/api/openapi.json":  # it describes data, holds none
            assert_public_json(response.get_json(), url)
        read += 1
    assert read > 300


def assert_public_json(value, url: str) -> None:
    """No key that names private data, and people carry exactly a name and a phone."""
    if isinstance(value, dict):
        assert not [k for k in value if any(p in k for p in PRIVATE_KEYS)], (url, value)
        if "leader" in value or "deputies" in value:
            people = [value["leader"], *value["deputies"]]
            assert all(p is None or set(p) == {"name", "phone"} for p in people), url
        for child in value.values():
            assert_public_json(child, url)
    elif isinstance(value, list):
        for child in value:
            assert_public_json(child, url)
