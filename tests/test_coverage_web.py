"""The planner's coverage pages read coverage stored per commune: the demo's planted defects
found, filtered and paged in SQL, exported; changes mark a commune stale and refresh it."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date

import pytest
import shapely
from flask import g
from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import delete, func, select

from geo.checks import area_m2
from portal.boundaries import editing
from portal.coverage import services
from portal.jobs import runner
from portal.models import (
    Account,
    Area,
    BoundaryChange,
    CoverageCommune,
    CoverageProblem,
    CoverageVillage,
    Job,
    Member,
    Team,
    TeamArea,
)
from tests.conftest import csrf_token, signed_in
from tests.test_map_text import shown

HX = {"HX-Request": "true"}
TODAY = date.today().isoformat()


def commune(session, code="00004"):
    return session.scalar(select(Area).where(Area.code == code))


def uncovered(session, commune_id):
    covered = select(TeamArea.area_id).where(TeamArea.valid_to.is_(None))
    return session.scalars(
        select(Area.name).where(Area.parent_id == commune_id, Area.id.not_in(covered))
    ).all()


def stored(session, commune_id) -> CoverageCommune:
    session.expire_all()
    return session.get(CoverageCommune, commune_id)


def refresh(app, session, *commune_ids):
    """Recompute communes after a change made behind the services' backs (plain SQL)."""
    with app.app_context():
        services.refresh(list(commune_ids))
        session.commit()  # before the context ends: its teardown closes the session


def refresh_jobs(session):
    return session.scalars(select(Job).where(Job.kind == "coverage.refresh").order_by(Job.id)).all()


def listed(body: str) -> list[str]:
    """The problem list's rows, as text (without their next steps)."""
    rows = re.findall(r'<li data-testid="problem-row">(.*?)</li>', body, re.S)
    rows = [re.sub(r'<span class="problem-steps".*?</span>', "", row, flags=re.S) for row in rows]
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]


# --- what is stored ------------------------------------------------------------------------


def test_the_demo_leaves_every_commune_computed_as_on_request(app, demo):
    ids = demo.scalars(select(Area.id).where(Area.level == "commune").order_by(Area.code)).all()
    assert len(ids) == 3
    with app.app_context():
        fresh = {r.commune_id: r for r in services.compute_report(ids)}
    for commune_id in ids:
        row = stored(demo, commune_id)
        want = fresh[commune_id]
        assert row.computed_at is not None and row.stale_since is None
        for name, value in want.figures.items():
            # JSON keeps lists where the computation has tuples
            assert getattr(row, name) == json.loads(json.dumps(value)), name
        villages = demo.execute(
            select(CoverageVillage.area_id, CoverageVillage.status)
            .where(CoverageVillage.commune_id == commune_id)
            .order_by(CoverageVillage.area_id)
        ).all()
        assert villages == sorted((v["area_id"], v["status"]) for v in want.villages)
        problems = demo.scalars(
            select(CoverageProblem)
            .where(CoverageProblem.commune_id == commune_id)
            .order_by(CoverageProblem.position)
        ).all()
        assert len(problems) == len(want.problems)
        for have, computed in zip(problems, want.problems, strict=True):
            for name in ("kind", "name", "members", "population", "area_m2", "area_id", "team_id"):
                assert getattr(have, name) == computed[name], name
            assert (have.west, have.south, have.east, have.north) == (
                computed["west"],
                computed["south"],
                computed["east"],
                computed["north"],
            )
            if computed["geom"] is not None:
                assert to_shape(have.geom).equals(to_shape(computed["geom"]))
        # and the figures are the demo's, counted another way
        assert row.counts.get("no_team", 0) == len(uncovered(demo, commune_id))
        assert row.villages == demo.scalar(
            select(func.count()).where(Area.parent_id == commune_id, Area.valid_to.is_(None))
        )


def test_the_city_view_lists_every_village_without_a_team_and_says_when(admin, demo):
    page = admin.get("/coverage/")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'data-testid="coverage-map"' in body
    expected = sum(
        len(uncovered(demo, c.id))
        for c in demo.scalars(select(Area).where(Area.level == "commune"))
    )
    assert f"Chưa có tổ ({expected})" in body
    assert "Tính lúc " in body
    assert "Đang tính lại" not in body
    assert len(page.data) < 1_000_000  # aggregated by commune: a light page
    # read, not computed: the page asked for no refresh
    assert refresh_jobs(demo) == []


def test_filtering_by_kind_answers_with_the_list_only(admin, demo):
    ba_dinh = commune(demo)
    page = admin.get(f"/coverage/{ba_dinh.id}").get_data(as_text=True)
    assert 'hx-indicator="#problem-loading"' in page and 'id="problem-loading"' in page
    response = admin.get(
        f"/coverage/{ba_dinh.id}?kind=no_team", headers={**HX, "HX-Target": "problem-list"}
    )
    body = response.get_data(as_text=True)
    assert "<html" not in body
    for name in uncovered(demo, ba_dinh.id):
        assert f"{name}</a>" in body
    assert "kind-understaffed" not in body


def test_the_city_filters_by_commune_and_pages_in_sql(admin, demo, monkeypatch):
    monkeypatch.setattr(services, "PER_PAGE", 2)
    ids = demo.scalars(select(Area.id).where(Area.level == "commune").order_by(Area.code)).all()
    total = demo.scalar(select(func.count()).select_from(CoverageProblem))
    assert total > 4
    fragment = {**HX, "HX-Target": "problem-list"}
    rows = []
    for number in range(1, (total + 1) // 2 + 2):
        body = admin.get(f"/coverage/?page={number}", headers=fragment).get_data(as_text=True)
        rows += listed(body)
    assert len(rows) == total  # every problem once, the page past the last empty
    populations = [
        int(m.group(1).replace(".", "")) if (m := re.search(r"· ([\d.]+) người", r)) else 0
        for r in rows
    ]
    assert populations == sorted(populations, reverse=True)  # the most people first
    last = ids[-1]
    name = demo.get(Area, last).name
    body = admin.get(f"/coverage/?commune={last}&kind=no_team", headers=fragment).get_data(
        as_text=True
    )
    shown = listed(body)
    assert shown and all(name in r and "Chưa có tổ" in r for r in shown)


def test_an_understaffed_team_and_a_team_without_leader_are_found(app, admin, demo):
    ba_dinh = commune(demo)
    team = demo.scalar(select(Team).where(Team.commune_id == ba_dinh.id).order_by(Team.id).limit(1))
    team_id, team_name, commune_id = team.id, team.name, ba_dinh.id
    for member in demo.scalars(select(Member).where(Member.team_id == team.id)):
        if member.role != "member":
            member.left_on = member.appointment_date  # the leader and deputy leave
    demo.commit()
    # changed behind the services' backs: the stored list does not know yet
    assert team_name not in admin.get(f"/coverage/{commune_id}?kind=no_leader").get_data(
        as_text=True
    )
    refresh(app, demo, commune_id)
    body = admin.get(f"/coverage/{commune_id}?kind=no_leader").get_data(as_text=True)
    assert team_name in body
    size = demo.scalar(
        select(func.count()).where(Member.team_id == team_id, Member.left_on.is_(None))
    )
    assert size < 3  # the leader and deputy left: fewer than Hanoi's three
    understaffed = admin.get(f"/coverage/{commune_id}?kind=understaffed").get_data(as_text=True)
    assert team_name in understaffed


# --- changes refresh -----------------------------------------------------------------------


@pytest.fixture
def as_admin(app, demo):
    ctx = app.test_request_context()
    ctx.push()
    g.account = demo.scalar(select(Account).where(Account.username == "quantri"))
    yield demo
    ctx.pop()


def test_a_boundary_edit_marks_the_commune_stale_and_refreshes_it(as_admin):
    session = as_admin
    ba_dinh = commune(session)
    before = stored(session, ba_dinh.id)
    computed_at, unmapped = before.computed_at, before.land_m2 - before.land_mapped_m2
    village = session.scalar(
        select(Area).where(Area.parent_id == ba_dinh.id).order_by(Area.code).limit(1)
    )
    old = to_shape(village.geom)
    smaller = old.buffer(-0.0002)  # about 20 m in: a ring of land no village covers
    editing.edit_boundary(village.id, shapely.geometry.mapping(smaller), "12/QĐ-UBND", TODAY)
    jobs = refresh_jobs(session)
    assert [(j.params, j.status) for j in jobs] == [({"commune_ids": [ba_dinh.id]}, "done")]
    after = stored(session, ba_dinh.id)
    assert after.computed_at > computed_at and after.stale_since is None
    gained = after.land_m2 - after.land_mapped_m2 - unmapped
    assert gained == pytest.approx(area_m2(old) - area_m2(smaller), rel=0.02)
    # the other communes were left alone
    others = session.scalars(
        select(CoverageCommune).where(CoverageCommune.commune_id != ba_dinh.id)
    ).all()
    assert all(o.computed_at < after.computed_at for o in others)


def test_a_team_leader_changing_members_refreshes_their_commune(app, demo):
    leader = signed_in(app, "totruong")
    account = demo.scalar(select(Account).where(Account.username == "totruong"))
    team_id, ba_dinh = account.team_id, commune(demo).id
    team_name = demo.get(Team, team_id).name
    serving = demo.scalars(
        select(Member).where(Member.team_id == team_id, Member.left_on.is_(None))
    ).all()
    token = csrf_token(leader, f"/teams/{team_id}")
    for member in [m for m in serving if m.role != "leader"][: len(serving) - 2]:
        response = leader.post(
            f"/teams/{team_id}/members/{member.id}/leave",
            data={"left_on": TODAY, "left_decision": "5/QĐ-UBND", "csrf_token": token},
        )
        assert response.status_code == 303, response.get_data(as_text=True)
    jobs = refresh_jobs(demo)
    assert jobs and all(j.created_by == account.id and j.status == "done" for j in jobs)
    assert all(j.params == {"commune_ids": [ba_dinh]} for j in jobs)
    assert stored(demo, ba_dinh).stale_since is None
    # the leader may not read coverage, the commune's officer sees the team under-staffed
    assert leader.get(f"/coverage/{ba_dinh}").status_code == 404
    officer = signed_in(app, "canbo.xa")
    body = officer.get(f"/coverage/{ba_dinh}?kind=understaffed").get_data(as_text=True)
    assert f"{team_name} (2 người)" in body


def test_a_refresh_on_its_way_is_shown_with_its_job_and_not_queued_twice(app, admin, demo):
    ba_dinh = commune(demo).id
    with app.app_context():
        waiting = services.jobs.submit(
            services.JOB_KIND, {"commune_ids": [ba_dinh]}, "queued by hand", run=False
        )
        job_id = waiting.id
        services.mark_stale([ba_dinh])
        # a change now finds it queued: no second job
        assert services.request_refresh([ba_dinh]) is None
    demo.commit()
    assert [j.id for j in refresh_jobs(demo)] == [job_id]
    body = admin.get(f"/coverage/{ba_dinh}").get_data(as_text=True)
    assert "Đang tính lại…" in body
    assert f'href="/jobs/{job_id}" data-testid="coverage-job"' in body
    assert 'hx-trigger="every 3s"' in body  # the banner asks again until it is over
    city = admin.get("/coverage/").get_data(as_text=True)
    assert "Đang tính lại…" in city and "đang tính lại" in city  # and in the commune's row
    # an officer sees that it runs, not a job someone else started
    officer = signed_in(app, "canbo.xa")
    body = officer.get(f"/coverage/{ba_dinh}").get_data(as_text=True)
    assert "Đang tính lại…" in body and f"/jobs/{job_id}" not in body
    # the job runs; the banner, asked again, says the new figures are there
    with app.app_context():
        runner.execute(job_id)
    demo.commit()
    banner = admin.get(f"/coverage/{ba_dinh}", headers={**HX, "HX-Target": "coverage-status"})
    text = banner.get_data(as_text=True)
    assert "Đã tính xong" in text and "every 3s" not in text and "<html" not in text
    assert stored(demo, ba_dinh).stale_since is None


def test_a_commune_never_computed_is_computed_on_first_view(app, admin, demo):
    ba_dinh = commune(demo).id
    demo.execute(delete(CoverageCommune).where(CoverageCommune.commune_id == ba_dinh))
    demo.commit()
    body = admin.get(f"/coverage/{ba_dinh}").get_data(as_text=True)
    # jobs run inline in tests: the job it queued has computed it already
    (job,) = refresh_jobs(demo)
    assert job.params == {"commune_ids": [ba_dinh]} and job.status == "done"
    assert "Tính lúc " in body and 'data-testid="coverage-map"' in body
    assert stored(demo, ba_dinh).computed_at is not None


def test_a_commune_left_stale_by_a_failed_refresh_says_so(app, admin, demo, monkeypatch):
    ba_dinh = commune(demo).id

    def broken(*_args, **_kwargs):
        raise RuntimeError("the computation broke")

    monkeypatch.setattr(services, "refresh", broken)
    with app.test_request_context():
        services.request_refresh([ba_dinh])
    demo.commit()
    assert [j.status for j in refresh_jobs(demo)] == ["failed"]
    body = admin.get(f"/coverage/{ba_dinh}").get_data(as_text=True)
    assert "Số liệu có thể đã cũ" in body and "Tính lúc " in body


# --- exports and scope ---------------------------------------------------------------------


def test_exports_of_problems_and_unmapped_land(app, admin, demo):
    giang_vo = commune(demo, "00025")  # the demo leaves it a village without a team
    response = admin.get(f"/coverage/problems.csv?commune_id={giang_vo.id}")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    no_team = {r["what"] for r in rows if r["kind"] == "no_team"}
    assert no_team == set(uncovered(demo, giang_vo.id)) and no_team
    computed_at = stored(demo, giang_vo.id).computed_at.isoformat(timespec="seconds")
    assert {(r["computed_at"], r["stale"]) for r in rows} == {(computed_at, "")}
    # the demo's first communes have no unmapped sliver: pull a village's boundary in
    village = demo.scalar(
        select(Area).where(Area.parent_id == giang_vo.id).order_by(Area.code).limit(1)
    )
    old = to_shape(village.geom)
    smaller = shapely.MultiPolygon([old.buffer(-0.0002)])
    village.geom = from_shape(smaller, srid=4326)
    refresh(app, demo, giang_vo.id)
    gaps = json.loads(admin.get("/coverage/gaps.geojson").data)
    assert gaps["type"] == "FeatureCollection"
    (gap,) = gaps["features"]
    assert gap["properties"]["commune_code"] == "00025"
    assert gap["properties"]["area_m2"] == pytest.approx(area_m2(old) - area_m2(smaller), 0.01)
    assert gap["properties"]["computed_at"] and gap["properties"]["stale"] is False
    ring, want = shapely.geometry.shape(gap["geometry"]), old.difference(smaller)
    assert ring.symmetric_difference(want).area < want.area / 100  # a thin ring, 6 decimals


def test_officers_see_their_commune_and_leaders_not_at_all(app, demo):
    ba_dinh, other = commune(demo), commune(demo, "00008")
    officer = signed_in(app, "canbo.xa")
    assert officer.get(f"/coverage/{ba_dinh.id}").status_code == 200
    assert officer.get(f"/coverage/{other.id}").status_code == 404
    assert officer.get(f"/coverage/problems.csv?commune_id={other.id}").status_code == 404
    assert officer.get(f"/coverage/gaps.geojson?commune_id={other.id}").status_code == 404
    # a village of their commune without a team: a problem of theirs among the others'
    village = demo.scalar(
        select(Area).where(Area.parent_id == ba_dinh.id).order_by(Area.code).limit(1)
    )
    name, people, commune_name = village.name, village.population, ba_dinh.name
    demo.execute(delete(TeamArea).where(TeamArea.area_id == village.id))
    refresh(app, demo, ba_dinh.id)
    # the city's list, and its export, hold only their commune's rows
    text = officer.get("/coverage/problems.csv").get_data(as_text=True)
    communes = {r["commune"] for r in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))}
    assert communes == {commune_name}
    body = officer.get("/coverage/", headers={**HX, "HX-Target": "problem-list"})
    assert listed(body.get_data(as_text=True)) == [
        f"Chưa có tổ {name} · {commune_name} · {people:,} người".replace(",", ".")
    ]
    leader = signed_in(app, "totruong")
    assert leader.get("/coverage/").status_code == 404


def test_the_city_map_follows_a_refresh(app, admin, demo):
    ba_dinh = commune(demo)
    name, commune_id = ba_dinh.name, ba_dinh.id

    def share_on_map() -> str:
        labels = shown(admin.get("/coverage/").get_data(as_text=True))
        (label,) = [t for t in labels if t.startswith(f"{name}: ")]
        return re.search(r": ([\d.,]+)% thôn có tổ", label).group(1)

    assert share_on_map() == "100"  # the demo covers every village of Ba Đình
    villages = demo.scalars(select(Area.id).where(Area.parent_id == commune_id)).all()
    demo.execute(delete(TeamArea).where(TeamArea.area_id == villages[0]))
    refresh(app, demo, commune_id)
    # one decimal at most, after a comma in Vietnamese: 83,3
    share = round(100 * (len(villages) - 1) / len(villages), 1)
    assert share_on_map() == f"{share:g}".replace(".", ",")


def test_an_import_commit_refreshes_in_its_own_job_and_its_revert_after(app, demo):
    from tests.test_boundaries_web import post, upload, villages_file

    officer = signed_in(app, "canbo.xa")
    ba_dinh = commune(demo).id
    before = stored(demo, ba_dinh).computed_at
    assert stored(demo, ba_dinh).counts.get("unmapped") is None
    shrink = ("00004-001", lambda g: g.buffer(-0.0001))
    response = upload(officer, villages_file(demo, change=shrink), "ba_dinh.geojson")
    assert response.status_code == 303
    done = post(
        officer,
        response.headers["Location"] + "/commit",
        {"mode": "all", "decision_number": "5/QĐ-UBND", "decision_date": TODAY},
    )
    assert done.status_code == 303
    commit = demo.scalar(select(Job).where(Job.kind == "boundaries.commit"))
    assert commit.status == "done" and commit.counts.get("coverage") == 1
    assert refresh_jobs(demo) == []  # computed within the commit's own job
    after = stored(demo, ba_dinh)
    assert after.computed_at > before and after.counts["unmapped"] == 1
    change_id = demo.scalar(
        select(func.max(BoundaryChange.id)).where(BoundaryChange.kind == "import")
    )
    reverted = post(officer, f"/boundaries/changes/{change_id}/revert", {})
    assert reverted.status_code == 303
    (job,) = refresh_jobs(demo)
    assert job.params == {"commune_ids": [ba_dinh]} and job.status == "done"
    assert stored(demo, ba_dinh).counts.get("unmapped") is None


def test_the_cli_refreshes_every_commune_or_those_named(app, demo):
    ba_dinh = commune(demo).id
    before = {c.commune_id: c.computed_at for c in demo.scalars(select(CoverageCommune))}
    runner_cli = app.test_cli_runner()
    result = runner_cli.invoke(args=["refresh-coverage", "--commune", "00004"])
    assert result.exit_code == 0, result.output
    assert "Đã tính độ phủ của 1 xã, phường." in result.output
    demo.expire_all()
    after = {c.commune_id: c.computed_at for c in demo.scalars(select(CoverageCommune))}
    assert [i for i in after if after[i] != before[i]] == [ba_dinh]
    result = runner_cli.invoke(args=["refresh-coverage"])
    assert "Đã tính độ phủ của 3 xã, phường." in result.output
    refused = runner_cli.invoke(args=["refresh-coverage", "--commune", "99999"])
    assert refused.exit_code != 0 and "99999" in refused.output


# --- issue 14: what the maps' colours mean, where a village leads, the next step -------------


def map_features(body: str) -> list[dict]:
    """The features of the page map's GeoJSON layers, as its script holds them."""
    decoder = json.JSONDecoder()
    found = []
    for match in re.finditer(r"_add\(\{", body):
        data, _end = decoder.raw_decode(body, match.end() - 1)
        found += data.get("features", [])
    return found


def legend_fills(body: str) -> dict[str, str]:
    """The legend's items: the colour each one's swatch is drawn in."""
    return dict(re.findall(r'data-status="(\w+)"><svg[^>]*><rect[^>]* fill="(#\w+)"', body))


def test_the_city_map_colours_communes_by_share_as_its_legend_says(admin, demo):
    body = admin.get("/coverage/").get_data(as_text=True)
    legend = legend_fills(body)
    # zoomed in, every village is drawn: the covered ones are in the legend too
    assert set(legend) == {
        "share_high",
        "share_mid",
        "share_low",
        "covered",
        "understaffed",
        "no_leader",
        "no_team",
        "overlap",
    }
    assert all(services.MAP_STYLES[key]["fillColor"] == fill for key, fill in legend.items())
    assert "từ 99% thôn có tổ" in body and "dưới 95%" in body
    assert "tổ thiếu người hoặc chưa có tổ trưởng" not in body  # the legend that contradicted
    features = [f["properties"] for f in map_features(body)]
    communes = {p["url"]: p["status"] for p in features if p["url"].startswith("/coverage/")}
    rows = demo.scalars(select(CoverageCommune)).all()
    assert len(communes) == len(rows) == 3
    for row in rows:
        share = row.villages_with_team / row.villages
        band = "share_high" if share >= 0.99 else "share_mid" if share >= 0.95 else "share_low"
        assert communes[f"/coverage/{row.commune_id}"] == band
    assert {"share_high", "share_low"} & set(communes.values())  # the demo has gaps
    # every village is drawn over the communes from the coverage tiles (tests/test_tiles.py)
    assert not [p for p in features if p["url"].startswith("/areas/")]
    assert '"url":"/tiles/coverage/{z}/{x}/{y}.pbf"' in body


def with_uncovered(session) -> int:
    """A commune of the demo with a village without a team."""
    return session.scalar(
        select(CoverageVillage.commune_id).where(CoverageVillage.status == "no_team").limit(1)
    )


def test_every_village_of_a_commune_map_opens_its_page_in_its_legend_colour(admin, demo):
    commune_id = with_uncovered(demo)
    body = admin.get(f"/coverage/{commune_id}").get_data(as_text=True)
    legend = legend_fills(body)
    assert set(legend) == set(services.STATUS_STYLES)
    assert all(services.STATUS_STYLES[key]["fillColor"] == fill for key, fill in legend.items())
    villages = {
        p["url"]: p["status"]
        for p in (f["properties"] for f in map_features(body))
        if p["status"] != "unmapped"
    }
    stored_rows = demo.execute(
        select(CoverageVillage.area_id, CoverageVillage.status).where(
            CoverageVillage.commune_id == commune_id
        )
    ).all()
    assert villages == {f"/areas/{i}": status for i, status in stored_rows}
    assert "no_team" in villages.values() and set(villages.values()) <= set(legend)
    # a village without a team offers its next step on the map too
    steps = {
        p["url"]: p.get("step_url")
        for p in (f["properties"] for f in map_features(body))
        if p["status"] != "unmapped"
    }
    for url, status in villages.items():
        area_id = url.rsplit("/", 1)[1]
        expected = f"/teams/new?village={area_id}" if status == "no_team" else None
        assert steps[url] == expected
    # each legend item keeps its colour and label together (one unbreakable item)
    assert re.search(
        r'<li class="legend-item" data-status="no_team"><svg.*?</svg>chưa có tổ</li>', body
    )


def test_a_village_without_a_team_offers_to_create_one_and_a_covered_one_does_not(admin, demo):
    commune_id = with_uncovered(demo)
    covered = select(TeamArea.area_id).where(TeamArea.valid_to.is_(None))
    village = lambda has_team: demo.scalar(  # noqa: E731
        select(Area.id)
        .where(Area.parent_id == commune_id, Area.id.in_(covered) == has_team)
        .order_by(Area.id)
        .limit(1)
    )
    empty, served = village(False), village(True)
    body = admin.get(f"/areas/{empty}").get_data(as_text=True)
    assert f'data-testid="create-team" href="/teams/new?village={empty}"' in body
    assert "Lập tổ cho địa bàn này" in body
    body = admin.get(f"/areas/{served}").get_data(as_text=True)
    assert "/teams/new?village=" not in body and "Lập tổ cho địa bàn này" not in body


def test_problem_rows_carry_their_zoom_and_their_next_steps(app, admin, demo):
    commune_id = with_uncovered(demo)
    team = demo.scalar(select(Team).where(Team.commune_id == commune_id).order_by(Team.id).limit(1))
    team_id = team.id
    for member in demo.scalars(select(Member).where(Member.team_id == team_id)):
        if member.role != "member":
            member.left_on = member.appointment_date  # the leader and deputy leave
    demo.commit()
    refresh(app, demo, commune_id)
    body = admin.get(f"/coverage/{commune_id}").get_data(as_text=True)
    rows = re.findall(r'<li data-testid="problem-row">(.*?)</li>', body, re.S)
    no_team = [r for r in rows if "kind-no_team" in r]
    assert no_team
    for row in no_team:
        area_id = re.search(r'href="/areas/(\d+)" class="zoom"', row).group(1)
        west, south, east, north = map(
            float, re.search(r'data-bounds="([^"]+)"', row).group(1).split(",")
        )
        assert west < east and south < north
        assert f'href="/teams/new?village={area_id}">Lập tổ</a>' in row
        assert f'href="/areas/{area_id}">Mở địa bàn</a>' in row
    short = [r for r in rows if f'href="/teams/{team_id}" class="zoom"' in r]
    assert short and all(
        f'href="/teams/{team_id}/members/new">Bổ nhiệm thành viên</a>' in r for r in short
    )
    # its villages are drawn as under-staffed on the commune's map
    statuses = {f["properties"]["url"]: f["properties"]["status"] for f in map_features(body)}
    served = demo.scalars(
        select(TeamArea.area_id).where(TeamArea.team_id == team_id, TeamArea.valid_to.is_(None))
    ).all()
    assert served and all(statuses[f"/areas/{i}"] == "understaffed" for i in served)


def test_zoomed_in_the_city_map_loads_a_communes_villages_in_the_readers_scope(app, admin, demo):
    commune_id = with_uncovered(demo)
    body = admin.get("/coverage/").get_data(as_text=True)
    assert "/tiles/coverage/{z}/{x}/{y}.pbf" in body  # the page draws them from tiles now
    response = admin.get(f"/coverage/{commune_id}/villages.json")
    assert response.mimetype == "application/geo+json"
    loaded = {f["properties"]["url"]: f["properties"]["status"] for f in response.json["features"]}
    drawn = admin.get(f"/coverage/{commune_id}").get_data(as_text=True)
    assert loaded == {
        p["url"]: p["status"]
        for p in (f["properties"] for f in map_features(drawn))
        if p["status"] != "unmapped"
    }
    officer = signed_in(app, "canbo.xa")  # Ba Đình's officer
    other = demo.scalar(
        select(Area.id).where(Area.level == "commune", Area.code != "00004").limit(1)
    )
    assert officer.get(f"/coverage/{other}/villages.json").status_code == 404
    assert officer.get(f"/coverage/{commune(demo).id}/villages.json").status_code == 200


def test_a_team_without_a_leader_has_its_own_colour_a_wrong_size_comes_first():
    """Villages of a team of the right size without a leader are 'no_leader'; a team both
    short and leaderless is 'understaffed'; the legend has a label for every status."""
    from portal.teams.rules import HANOI

    def square(x):
        return shapely.box(x, 0, x + 0.001, 0.001).wkb

    rows = [
        (1, 9, "Thôn Một", square(0), 100, 10),
        (2, 9, "Thôn Hai", square(0.001), 100, 20),
        (3, 9, "Thôn Ba", square(0.002), 100, None),
    ]
    teams = {10: (10, 9, "Tổ Một", 4, 0), 20: (20, 9, "Tổ Hai", 2, 0)}  # members, leaders
    outline = shapely.box(0, 0, 0.003, 0.001)
    result = services.compute_commune(9, outline, rows, teams, HANOI, 0.0)
    statuses = {v["area_id"]: v["status"] for v in result.villages}
    assert statuses == {1: "no_leader", 2: "understaffed", 3: "no_team"}
    assert all(services.status_label(s) for s in services.STATUS_STYLES)


def test_a_long_job_title_keeps_whole_names_and_says_how_many_more():
    names = [f"Phường Văn Miếu - Quốc Tử Giám {i}" for i in range(126)]
    title = services.names_title(names)
    assert len(title) <= 300
    shown, more = title.rsplit(" … (+", 1)
    assert shown.split(", ") == names[: len(shown.split(", "))]  # whole names, none cut
    assert int(more.rstrip(")")) == 126 - len(shown.split(", "))
    assert services.names_title(names[:3]) == ", ".join(names[:3])
