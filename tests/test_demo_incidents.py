"""The demo's year of incidents and tips on the three-commune demo, at a small scale: counts by
kind, points inside their villages, the village's commune and team, receipts, triage states that
fit their age, violations linked to the patrols that found them, and the CLI's job."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, text

from portal.demo.incidents import (
    DESCRIPTIONS,
    TEAM_A_YEAR,
    TIP_KIND_SHARES,
    TIPS_A_YEAR,
    VALUABLE_TIPS_A_YEAR,
    VIOLATION_DESCRIPTIONS,
    clear_incidents,
    seed_incidents,
)
from portal.demo.patrols import seed_patrols
from portal.models import Incident, Job, Patrol, PatrolFinding, TipContact
from portal.models.incident import TIP_KINDS, Status
from portal.models.patrol import VIOLATION_KINDS
from tests.conftest import copy_in, rolled_back_session, signed_in, through_job

SCALE = 0.05  # 895 tips, 440 of them valuable, 155 violations, 95 fires, 85 rescues
NOW = datetime(2026, 11, 29, 3, 30, tzinfo=UTC)  # 10:30 in Hanoi
TODAY = date(2026, 11, 29)
RECEIPT = re.compile(r"^[0-9ABCDEFGHJKMNPQRSTVWXYZ]{4}-[0-9ABCDEFGHJKMNPQRSTVWXYZ]{4}$")


def count(session, *where) -> int:
    return session.scalar(select(func.count()).select_from(Incident).where(*where))


def test_the_tables_cover_the_models_kinds():
    assert set(TIP_KIND_SHARES) == set(TIP_KINDS)
    assert set(VIOLATION_DESCRIPTIONS) == set(VIOLATION_KINDS)
    assert set(DESCRIPTIONS) == set(TIP_KINDS) | set(TEAM_A_YEAR) - {"violation"}
    assert sum(TIP_KIND_SHARES.values()) == pytest.approx(1.0)


# Tests that make their own year come first: the module's shared year (below) holds its rows
# uncommitted on its own connection, and a test copying the demo in again would wait on it.


def test_the_same_seed_gives_the_same_year(demo):
    def fingerprint():
        return demo.execute(
            text(
                "SELECT count(*), string_agg(receipt, ',' ORDER BY id),"
                " sum(extract(epoch FROM occurred_at)), sum(area_id),"
                " round(sum(ST_X(geom))::numeric, 9), string_agg(status, ',' ORDER BY id)"
                " FROM incidents"
            )
        ).one()

    seed_incidents(scale=0.01, now=NOW, seed=5)
    once = fingerprint()
    clear_incidents()
    assert not count(demo) and not demo.scalar(select(func.count()).select_from(TipContact))
    seed_incidents(scale=0.01, now=NOW, seed=5)
    assert fingerprint() == once
    clear_incidents()
    seed_incidents(scale=0.01, now=NOW, seed=6)
    assert fingerprint() != once


def test_violations_are_the_patrols_findings(demo):
    seed_patrols(scale=0.02, today=TODAY)  # 62 violations found on the demo's patrols
    summary = seed_incidents(scale=0.02, now=NOW)  # 62 violations, 60 % of them on a patrol
    violations = count(demo, Incident.kind == "violation")
    linked = count(demo, Incident.patrol_id.is_not(None))
    assert linked == summary.on_patrol == round(0.6 * violations)
    assert not count(demo, Incident.patrol_id.is_not(None), Incident.kind != "violation")
    # a linked violation is its patrol's team's, in one of its villages, during the patrol, of
    # a kind the patrol recorded, and no patrol has more linked than it found
    wrong = demo.scalar(
        text(
            """
            SELECT count(*) FROM incidents i JOIN patrols p ON p.id = i.patrol_id
             WHERE p.status <> 'done' OR i.team_id <> p.team_id
                OR i.occurred_at NOT BETWEEN p.started_at AND p.ended_at
                OR i.received_at < p.ended_at
                OR NOT EXISTS (SELECT 1 FROM patrol_findings f
                                WHERE f.patrol_id = p.id AND f.kind = i.violation_kind)
                OR NOT EXISTS (SELECT 1 FROM team_areas t
                                WHERE t.team_id = p.team_id AND t.area_id = i.area_id)
            """
        )
    )
    assert wrong == 0
    over = demo.scalar(
        text(
            "SELECT count(*) FROM (SELECT f.patrol_id, f.kind, f.count,"
            " (SELECT count(*) FROM incidents i WHERE i.patrol_id = f.patrol_id"
            "   AND i.violation_kind = f.kind) AS n FROM patrol_findings f) x WHERE n > count"
        )
    )
    assert over == 0
    # handed over as the patrol recorded: never more than it handed
    over_handed = demo.scalar(
        text(
            "SELECT count(*) FROM patrols p WHERE p.handed_to_police < (SELECT count(*)"
            " FROM incidents i WHERE i.patrol_id = p.id AND i.handed_to_police)"
        )
    )
    assert over_handed == 0
    assert demo.scalar(select(func.sum(Patrol.violations))) >= linked > 0
    assert demo.scalar(select(func.count()).select_from(PatrolFinding))


def test_the_cli_runs_it_as_a_job(app, demo):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-incidents", "--scale", "0.01"])
    assert result.exit_code == 0, result.output
    assert "Theo loại" in result.output
    job = demo.scalar(select(Job).where(Job.kind == "demo.incidents").order_by(Job.id.desc()))
    assert job.status == "done" and job.actor.startswith("cli:")
    assert job.counts.get("incidents")
    made = job.result["incidents"]
    assert made == count(demo) > 0
    first_ids = set(demo.scalars(select(Incident.id)))
    # --if-empty leaves the year in place; without it the job refuses
    result = runner.invoke(args=["seed-incidents", "--if-empty"])
    assert result.exit_code == 0 and "bỏ qua" in result.output
    assert set(demo.scalars(select(Incident.id))) == first_ids
    result = runner.invoke(args=["seed-incidents", "--scale", "0.01"])
    assert result.exit_code != 0 and "--reset" in result.output
    assert set(demo.scalars(select(Incident.id))) == first_ids
    # --reset replaces them all, contacts with them
    result = runner.invoke(args=["seed-incidents", "--reset", "--scale", "0.02"])
    assert result.exit_code == 0, result.output
    now_ids = set(demo.scalars(select(Incident.id)))
    assert now_ids and not now_ids & first_ids and len(now_ids) > len(first_ids)
    orphans = demo.scalar(
        select(func.count())
        .select_from(TipContact)
        .where(~TipContact.incident_id.in_(select(Incident.id)))
    )
    assert orphans == 0
    # the job's page links to what it made, as after any job
    admin = signed_in(app, "quantri")
    job = demo.scalar(select(Job).where(Job.kind == "demo.incidents").order_by(Job.id.desc()))

    # what a form that started the job would have answered
    started = SimpleNamespace(status_code=303, headers={"Location": f"/jobs/{job.id}"})

    page = admin.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "Sinh một năm sự vụ, tin báo mẫu" in page
    target = through_job(admin, started).headers["Location"]
    assert target != f"/jobs/{job.id}"
    assert admin.get(target).status_code == 200


@pytest.fixture(scope="module")
def year(app, demo_rows):
    """The demo with its year of incidents, made once for the tests that only read it."""
    with rolled_back_session(app) as session:
        copy_in(session, demo_rows)
        summary = seed_incidents(scale=SCALE, now=NOW)
        yield session, summary


def test_counts_by_kind_are_the_scaled_year(year):
    session, summary = year
    by_kind = dict(
        session.execute(select(Incident.kind, func.count()).group_by(Incident.kind)).all()
    )
    assert summary.kinds == by_kind
    tips = sum(by_kind.get(k, 0) for k in TIP_KINDS)
    assert tips == round(TIPS_A_YEAR * SCALE) == count(session, Incident.source == "tip")
    for kind, per_year in TEAM_A_YEAR.items():
        assert by_kind[kind] == round(per_year * SCALE), kind
        assert count(session, Incident.kind == kind, Incident.source != "team") == 0
    # theft, disorder and traffic are the most reported
    top = sorted(TIP_KINDS, key=lambda k: -by_kind.get(k, 0))[:3]
    assert set(top) == {"theft", "disorder", "traffic"}
    assert all(by_kind.get(k) for k in TIP_KINDS)


def test_valuable_tips(year):
    session, summary = year
    target = round(VALUABLE_TIPS_A_YEAR / TIPS_A_YEAR * round(TIPS_A_YEAR * SCALE))
    valuable = count(session, Incident.source == "tip", Incident.valuable.is_(True))
    undecided = count(session, Incident.source == "tip", Incident.valuable.is_(None))
    assert valuable == summary.valuable
    # the last days' tips are not decided yet: a few, and the valuable ones among them missing
    assert 0 < undecided < 0.03 * summary.tips
    assert target - undecided <= valuable <= target
    # valuable tips end passed to the police or closed; the rest not valuable or closed
    ends = dict(
        session.execute(
            select(Incident.status, func.count())
            .where(Incident.valuable.is_(True), Incident.source == "tip")
            .group_by(Incident.status)
        ).all()
    )
    assert set(ends) <= {Status.VALUABLE, Status.PASSED, Status.CLOSED}
    assert ends[Status.PASSED] > ends.get(Status.VALUABLE, 0) and ends[Status.CLOSED]
    assert not count(
        session,
        Incident.valuable.is_(False),
        Incident.status.not_in((Status.NOT_VALUABLE, Status.CLOSED)),
    )


def test_every_point_lies_in_its_village_and_commune_and_team(year):
    session, _ = year
    wrong = session.scalar(
        text(
            """
            SELECT count(*) FROM incidents i
              JOIN areas v ON v.id = i.area_id
             WHERE v.level <> 'village' OR NOT ST_Covers(v.geom, i.geom)
                OR i.commune_id <> v.parent_id
                OR i.team_id IS DISTINCT FROM (
                    SELECT min(t.team_id) FROM team_areas t
                     WHERE t.area_id = v.id AND t.valid_to IS NULL)
            """
        )
    )
    assert wrong == 0
    assert not count(session, Incident.area_id.is_(None))
    # team items are recorded by a team; tips fall where they fall, teams or not
    assert not count(session, Incident.source == "team", Incident.team_id.is_(None))
    assert count(session, Incident.source == "team", Incident.recorded_by.is_not(None)) == count(
        session, Incident.source == "team"
    )
    assert not count(session, Incident.source == "tip", Incident.recorded_by.is_not(None))


def test_dense_villages_report_more(year):
    session, _ = year
    # villages split at the median density of residents: the dense half reports more per
    # resident (and far more per km²), as the inner wards' crowded streets do
    halves = session.execute(
        text(
            """
            WITH v AS (
                SELECT a.id, a.population AS people, ST_Area(a.geom::geography) / 1e6 AS km2,
                       (SELECT count(*) FROM incidents i WHERE i.area_id = a.id) AS n
                  FROM areas a WHERE a.level = 'village'
            ), ranked AS (
                SELECT *, ntile(2) OVER (ORDER BY people / km2) AS half FROM v
            )
            SELECT half, sum(n)::float / sum(people) AS per_resident,
                   sum(n) / sum(km2) AS per_km2, count(*) AS villages, sum(n) AS n
              FROM ranked GROUP BY half ORDER BY half
            """
        )
    ).all()
    sparse, dense = halves
    assert sparse.n and dense.n
    assert dense.per_resident > 1.15 * sparse.per_resident
    assert dense.per_km2 > 2 * sparse.per_km2


def test_located_by_is_mostly_map_and_gps(year):
    session, _ = year
    shares = dict(
        session.execute(
            select(Incident.located_by, func.count()).group_by(Incident.located_by)
        ).all()
    )
    total = sum(shares.values())
    assert shares["map"] + shares["gps"] > 0.85 * total and shares["village"] > 0


def test_receipts_and_contacts(year):
    session, summary = year
    receipts = session.scalars(select(Incident.receipt).where(Incident.source == "tip")).all()
    assert len(receipts) == len(set(receipts)) == summary.tips
    assert all(RECEIPT.match(r) for r in receipts)
    assert not count(session, Incident.source == "team", Incident.receipt.is_not(None))
    contacts = session.scalar(select(func.count()).select_from(TipContact))
    assert contacts == summary.contacts == count(session, Incident.has_contact)
    assert 0.08 * summary.tips < contacts < 0.22 * summary.tips
    mismatched = session.scalar(
        text(
            "SELECT count(*) FROM incidents i FULL JOIN tip_contacts c ON c.incident_id = i.id"
            " WHERE i.has_contact IS DISTINCT FROM (c.incident_id IS NOT NULL)"
            " OR (c.incident_id IS NOT NULL"
            "     AND (i.source <> 'tip' OR c.contact !~ '^0[3789][0-9]{8}$'))"
        )
    )
    assert mismatched == 0
    assert not count(session, Incident.has_photo)
    assert count(session, Incident.merged_into_id.is_not(None)) == 0


def test_statuses_follow_age(year):
    session, _ = year
    # the check constraints hold (the COPY would have failed otherwise); the steps' times too
    wrong = session.scalar(
        text(
            """
            SELECT count(*) FROM incidents
             WHERE received_at < occurred_at
                OR received_at - occurred_at > interval '13 hours' AND patrol_id IS NULL
                OR status_at < received_at OR status_at > :now OR received_at > :now
                OR (status = 'received') <> (status_at = received_at)
                OR (status IN ('received', 'checked')) <> (valuable IS NULL)
                OR (status = 'passed' AND case_ref !~ '^CAX-20[0-9]{2}-[0-9]{6}$')
                OR (case_ref IS NOT NULL AND status NOT IN ('passed', 'closed'))
                OR (kind = 'violation') <> (violation_kind IS NOT NULL)
                OR (source = 'team' AND action_taken IS NULL)
                OR (status = 'passed' AND source = 'team' AND NOT handed_to_police)
                OR length(description) < 20
            """
        ),
        {"now": NOW},
    )
    assert wrong == 0
    # officers decide, pass and close in office hours
    in_hours = session.scalar(
        text(
            "SELECT avg((extract(hour FROM status_at AT TIME ZONE 'Asia/Ho_Chi_Minh')"
            " BETWEEN 7 AND 17)::int) FROM incidents WHERE status NOT IN ('received', 'checked')"
        )
    )
    assert in_hours > 0.95
    refs = session.scalars(select(Incident.case_ref).where(Incident.case_ref.is_not(None))).all()
    assert len(refs) == len(set(refs)) > 0
    first = NOW - timedelta(days=366)
    assert session.scalar(select(func.min(Incident.occurred_at))) >= first

    def open_share(since, until):
        total = count(session, Incident.received_at >= since, Incident.received_at < until)
        waiting = count(
            session,
            Incident.received_at >= since,
            Incident.received_at < until,
            Incident.status.in_((Status.RECEIVED, Status.CHECKED)),
        )
        return waiting / max(total, 1), total

    recent, recent_n = open_share(NOW - timedelta(days=2), NOW)
    old, old_n = open_share(first, NOW - timedelta(days=30))
    assert recent_n and recent > 0.6
    assert old_n > 0.8 * count(session) and old == 0
    settled = count(
        session,
        Incident.received_at < NOW - timedelta(days=60),
        Incident.status.in_((Status.PASSED, Status.CLOSED, Status.NOT_VALUABLE)),
    )
    assert settled == count(session, Incident.received_at < NOW - timedelta(days=60))


def test_descriptions_vary_per_kind(year):
    session, _ = year
    per_kind = session.execute(
        select(Incident.kind, func.count(func.distinct(Incident.description))).group_by(
            Incident.kind
        )
    ).all()
    assert all(n >= 2 for _, n in per_kind)
    texts = session.scalars(select(Incident.description).where(Incident.kind == "fire")).all()
    assert any("Cháy" in t for t in texts)
    # a violation is told by its kind
    sidewalk = session.scalars(
        select(Incident.description).where(Incident.violation_kind == "sidewalk")
    ).all()
    assert sidewalk and all("lấn chiếm" in t for t in sidewalk)
    actions = session.scalars(
        select(Incident.action_taken).where(Incident.kind == "violation").distinct()
    ).all()
    assert "Nhắc nhở, lập biên bản" in actions
    assert count(session, Incident.kind == "violation", Incident.handed_to_police)
