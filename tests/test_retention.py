"""Retention of reporters' data (issue 18): contacts deleted after the configured months, expired
address hashes and sign-in failures deleted, one audit row of counts per run, the nightly task,
the operators' command and the officer's page."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import croniter
import pytest
from procrastinate.periodic import PeriodicDeferrer
from sqlalchemy import select, text

from portal import config as config_module
from portal.jobs import queue
from portal.models import (
    Account,
    AccountSession,
    AuditEntry,
    Incident,
    IncidentPhoto,
    LoginFailure,
    TipContact,
    TipLimit,
)
from portal.retention import services
from portal.retention.services import months_before
from portal.tips import receipts
from tests import test_incidents
from tests.conftest import signed_in
from tests.test_incidents import M_PER_DEG_LAT, post, step

place = test_incidents.place  # the fixture: a village the demo's leader covers

# 17:00 on 29 November 2026 in Vietnam: twelve months earlier is 17:00 on 29 November 2025
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
CUTOFF = datetime(2025, 11, 29, 10, 0, tzinfo=UTC)
PHOTO = b"\xff\xd8\xff\xe0clean-jpeg"


def tip(session, place, received_at: datetime, contact: str | None = None, n: int = 0):
    """A tip received at `received_at` with a photo and, when given, a contact."""
    row = Incident(
        source="tip",
        kind="theft",
        receipt=receipts.new_receipt(),
        status="received",
        occurred_at=received_at - timedelta(hours=1),
        received_at=received_at,
        description=f"Tin thử số {n} về việc mất trộm xe máy.",
        geom=f"SRID=4326;POINT({place.lon} {place.lat + n * 30 / M_PER_DEG_LAT})",
        located_by="map",
        area_id=place.village_id,
        commune_id=place.commune_id,
        team_id=place.team_id,
        handed_to_police=False,
        has_photo=True,
        has_contact=contact is not None,
    )
    session.add(row)
    session.flush()
    if contact:
        session.add(TipContact(incident_id=row.id, name=f"Người báo {n}", contact=contact))
    session.add(IncidentPhoto(incident_id=row.id, data=PHOTO, width=1, height=1))
    session.commit()
    return row.id


@pytest.fixture
def tips(demo, session, place):
    """Tips received 13 months, just over 12, exactly 12 and 11 months before NOW; the first
    three left a contact, and one 13 months old is anonymous."""
    return SimpleNamespace(
        old=tip(session, place, datetime(2025, 10, 29, 3, tzinfo=UTC), "0912000001", 1),
        just_over=tip(session, place, CUTOFF - timedelta(seconds=1), "0912000002", 2),
        at_cutoff=tip(session, place, CUTOFF, "0912000003", 3),
        recent=tip(session, place, datetime(2025, 12, 29, 3, tzinfo=UTC), "0912000004", 4),
        anonymous=tip(session, place, datetime(2025, 10, 29, 3, tzinfo=UTC), None, 5),
    )


@pytest.fixture
def hashes(demo, session):
    """Abuse-limit hashes and sign-in failures on both sides of their use, and sessions."""
    ages = {"expired": timedelta(days=1, seconds=1), "a_day": timedelta(days=1)}
    ages["fresh"] = timedelta(hours=23)
    for name, age in ages.items():
        session.add(TipLimit(key=name.encode().ljust(32, b"\0"), at=NOW - age))
    for name, age in (("old", timedelta(minutes=16)), ("in_window", timedelta(minutes=14))):
        session.add(LoginFailure(key=f"ip:203.0.113.{len(name)}", at=NOW - age))
    account_id = session.scalar(select(Account.id).where(Account.username == "canbo.xa"))
    for age in (timedelta(days=31), timedelta(days=29)):
        started = NOW - age
        session.add(
            AccountSession(
                token_hash=f"{age.days:064d}",
                account_id=account_id,
                epoch=0,
                started_at=started,
                last_seen_at=started,
                user_agent="Mozilla/5.0 (test)",
            )
        )
    session.commit()


def contacts(session) -> set[int]:
    session.expire_all()
    return set(session.scalars(select(TipContact.incident_id)))


def retention_rows(session) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity_type == services.ENTITY_TYPE)
            .order_by(AuditEntry.id)
        )
    )


def everything(session) -> dict:
    """What the purge may touch, to compare before and after."""
    session.expire_all()
    return {
        name: sorted(session.scalars(select(column)))
        for name, column in (
            ("contacts", TipContact.incident_id),
            ("incidents", Incident.id),
            ("photos", IncidentPhoto.incident_id),
            ("limits", TipLimit.id),
            ("failures", LoginFailure.id),
            ("sessions", AccountSession.id),
        )
    }


def purge(app, **kwargs) -> services.Purged:
    with app.app_context():
        return services.purge(**kwargs)


EXPECTED = {"tip_contacts": 2, "tip_limits": 1, "login_failures": 1, "account_sessions": 1}


def test_purge_deletes_old_contacts_and_expired_hashes_and_keeps_the_rest(
    app, session, tips, hashes
):
    before = everything(session)
    purged = purge(app, now=NOW)
    assert purged.counts == EXPECTED
    assert purged.contacts_before == CUTOFF
    # strictly older than the period: a tip received exactly 12 months ago keeps its contact
    assert contacts(session) == {tips.at_cutoff, tips.recent}
    after = everything(session)
    # the incidents and their photos stay; the incident still says a contact was left
    assert after["incidents"] == before["incidents"]
    assert after["photos"] == before["photos"]
    assert session.get(Incident, tips.old).has_contact is True
    # a day for the tip limits' hashes, the sign-in window (15 minutes) for failures
    assert [
        k.rstrip(b"\0") for k in session.scalars(select(TipLimit.key).order_by(TipLimit.at))
    ] == [
        b"a_day",
        b"fresh",
    ]
    assert session.scalars(select(LoginFailure.key)).all() == ["ip:203.0.113.9"]
    assert len(after["sessions"]) == len(before["sessions"]) - 1


def test_each_run_that_deletes_writes_one_audit_row_of_counts_only(app, session, tips, hashes):
    purge(app, now=NOW)
    [row] = retention_rows(session)
    assert (row.actor, row.actor_id, row.ip, row.action) == ("retention", None, None, "delete")
    assert row.changes == {
        "tip_contacts": [2, None],
        "tip_limits": [1, None],
        "login_failures": [1, None],
        "account_sessions": [1, None],
        "retention_months": [12, None],
        "received_before": [CUTOFF.astimezone(services.LOCAL_TZ).isoformat(), None],
    }
    logged = json.dumps(row.changes, ensure_ascii=False)
    assert "0912" not in logged and "Người báo" not in logged and "203.0.113" not in logged

    again = purge(app, now=NOW)  # nothing left to delete: no second row
    assert again.total == 0
    assert len(retention_rows(session)) == 1


def test_a_dry_run_counts_the_same_and_changes_nothing(app, session, tips, hashes):
    before = everything(session)
    dry = purge(app, now=NOW, dry_run=True)
    assert dry.counts == EXPECTED and dry.dry_run
    assert everything(session) == before
    assert retention_rows(session) == []


def test_the_configured_period_is_honoured(app, session, tips, monkeypatch):
    monkeypatch.setitem(app.config, "CONTACT_RETENTION_MONTHS", 6)
    purged = purge(app, now=NOW)
    assert purged.contacts_before == datetime(2026, 5, 29, 10, tzinfo=UTC)
    assert purged.counts["tip_contacts"] == 4  # the 11-month-old contact goes too
    assert contacts(session) == set()
    assert retention_rows(session)[0].changes["retention_months"] == [6, None]


def test_a_contact_received_within_six_months_stays(app, session, place, demo, monkeypatch):
    monkeypatch.setitem(app.config, "CONTACT_RETENTION_MONTHS", 6)
    five = tip(session, place, datetime(2026, 6, 29, 10, tzinfo=UTC), "0912000006", 6)
    seven = tip(session, place, datetime(2026, 4, 29, 10, tzinfo=UTC), "0912000007", 7)
    assert purge(app, now=NOW).counts["tip_contacts"] == 1
    assert five in contacts(session) and seven not in contacts(session)


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        # 17:00 in Vietnam, the same time a year before
        (NOW, 12, CUTOFF),
        # 31 March less one month: the last day of February, same time of day
        (
            datetime(2026, 3, 31, 2, tzinfo=UTC),
            1,
            datetime(2026, 2, 28, 2, tzinfo=UTC),
        ),
        # 29 February 2028 less 12 months: 28 February 2027
        (datetime(2028, 2, 29, 1, tzinfo=UTC), 12, datetime(2027, 2, 28, 1, tzinfo=UTC)),
        # 20:00 UTC on 31 January is 1 February in Vietnam: months count on Vietnam's calendar
        (datetime(2026, 1, 31, 20, tzinfo=UTC), 1, datetime(2025, 12, 31, 20, tzinfo=UTC)),
        # across a year, 14 months
        (datetime(2026, 2, 15, 0, tzinfo=UTC), 14, datetime(2024, 12, 15, 0, tzinfo=UTC)),
    ],
)
def test_months_count_on_vietnams_calendar(moment, months, expected):
    assert months_before(moment, months) == expected


@pytest.mark.parametrize("value", ["0", "-3", "1.5", "twelve", "", "²", "00"])
def test_a_period_below_one_month_is_refused_at_start(monkeypatch, value):
    monkeypatch.setenv("PORTAL_CONTACT_RETENTION_MONTHS", value)
    overrides = {
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://x@127.0.0.1/none",
        "PORTAL_ENV": "testing",
        "SECRET_KEY": "not-used",
    }
    with pytest.raises(RuntimeError, match="PORTAL_CONTACT_RETENTION_MONTHS must be a whole"):
        config_module.load(overrides)


def test_the_period_is_read_from_the_environment(monkeypatch):
    overrides = {
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://x@127.0.0.1/none",
        "PORTAL_ENV": "testing",
        "SECRET_KEY": "not-used",
    }
    monkeypatch.delenv("PORTAL_CONTACT_RETENTION_MONTHS", raising=False)
    assert config_module.load(overrides)["CONTACT_RETENTION_MONTHS"] == 12
    monkeypatch.setenv("PORTAL_CONTACT_RETENTION_MONTHS", " 24 ")
    assert config_module.load(overrides)["CONTACT_RETENTION_MONTHS"] == 24


# --- the nightly task and the operators' command ------------------------------------------------


def test_the_nightly_task_runs_at_0217_in_vietnam(app):
    registry = queue.queue_app(app).periodic_registry
    periodic = registry.periodic_tasks[(queue.PURGE_TASK, queue.PURGE_PERIODIC_ID)]
    assert periodic.cron == "17 19 * * *"
    after = datetime(2026, 11, 29, 12, tzinfo=UTC).timestamp()
    fires = datetime.fromtimestamp(
        croniter.croniter(periodic.cron).get_next(float, start_time=after), UTC
    )
    assert fires.astimezone(services.LOCAL_TZ).strftime("%Y-%m-%d %H:%M") == "2026-11-30 02:17"
    # the worker's periodic deferrer (started by run_worker_async) finds it due just after
    deferrer = PeriodicDeferrer(registry=registry)
    due = list(deferrer.get_previous_tasks(at=fires.timestamp() + 30))
    assert [(task.task.name, when) for task, when in due] == [
        (queue.PURGE_TASK, int(fires.timestamp()))
    ]


def test_calling_the_nightly_task_purges(app, session, place, demo, monkeypatch):
    monkeypatch.setattr(queue, "_flask_app", app)
    now = datetime.now(UTC)
    old = tip(session, place, now - timedelta(days=400), "0912000008", 8)
    recent = tip(session, place, now - timedelta(days=300), "0912000009", 9)
    queue.queue_app(app).tasks[queue.PURGE_TASK](timestamp=int(now.timestamp()))
    remaining = contacts(session)
    assert old not in remaining and recent in remaining
    row = retention_rows(session)[-1]
    assert row.actor == "retention" and row.changes["tip_contacts"][0] >= 1


def test_the_command_prints_the_counts(app, session, place, demo):
    now = datetime.now(UTC)
    old = tip(session, place, now - timedelta(days=400), "0912000010", 10)
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["purge-personal-data", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Retention 12 months" in dry.output
    assert "Dry run: nothing was deleted." in dry.output
    lines = {line.split()[0]: line.split()[1:] for line in dry.output.splitlines()[1:-1]}
    assert set(lines) == set(services.KINDS)
    assert int(lines["tip_contacts"][0]) >= 1 and lines["tip_contacts"][1:] == ["would", "delete"]
    assert old in contacts(session) and retention_rows(session) == []

    done = runner.invoke(args=["purge-personal-data"])
    assert done.exit_code == 0, done.output
    assert "deleted" in done.output and "Recorded in the audit log" in done.output
    assert old not in contacts(session)
    # by hand: the retention job, and who ran it
    assert retention_rows(session)[-1].actor.startswith("retention (cli:")

    again = runner.invoke(args=["purge-personal-data"])
    assert "Nothing to delete; no audit entry written." in again.output
    assert len(retention_rows(session)) == 1


# --- the officer's page -------------------------------------------------------------------------


def test_the_officer_reads_that_the_contact_was_removed(app, session, tips, hashes):
    purge(app, now=NOW)
    officer = signed_in(app, "canbo.xa")
    page = officer.get(f"/incidents/{tips.old}").get_data(as_text=True)
    assert 'data-testid="contact-removed"' in page
    assert "đã được xoá sau 12 tháng" in page
    assert "0912000001" not in page and 'data-testid="contact"' not in page
    # a kept contact still shows; an anonymous tip says so, not that a contact was removed
    kept = officer.get(f"/incidents/{tips.recent}").get_data(as_text=True)
    assert "0912000004" in kept and "contact-removed" not in kept
    anonymous = officer.get(f"/incidents/{tips.anonymous}").get_data(as_text=True)
    assert "Tin báo ẩn danh." in anonymous and "contact-removed" not in anonymous
    # the team leader cannot tell whether a contact was left, nor that it was removed
    leader = signed_in(app, "totruong").get(f"/incidents/{tips.old}").get_data(as_text=True)
    assert "contact-removed" not in leader


def test_a_purge_cannot_be_reverted(app, session, tips, hashes):
    officer = signed_in(app, "canbo.xa")
    assert step(officer, tips.old, "check").status_code == 200
    purge(app, now=NOW)
    [row] = retention_rows(session)
    # the item's undo reads the audit log: it puts back the officer's step, never the contact
    page = f"/incidents/{tips.old}"
    assert post(officer, f"{page}/undo", page=page).status_code == 200
    assert session.get(Incident, tips.old).status == "received"
    assert tips.old not in contacts(session)
    refused = post(officer, f"{page}/undo", page=page)
    assert refused.status_code == 422
    assert "Không có bước nào để hoàn tác." in refused.get_data(as_text=True)
    assert tips.old not in contacts(session)
    # and the row itself stays: the audit log refuses to lose it
    with pytest.raises(Exception, match=r"append-only|permission denied"), session.begin_nested():
        session.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": row.id})
    assert [r.id for r in retention_rows(session)] == [row.id]
    assert contacts(session) == {tips.at_cutoff, tips.recent}


# --- the city admin's page -----------------------------------------------------------------


def test_the_admin_sees_the_rule_tonights_deletions_and_past_runs(app, demo, session, place):
    now = datetime.now(UTC)
    tip(session, place, months_before(now, 13), "0912000011", 11)
    tip(session, place, months_before(now, 11), "0912000012", 12)
    admin = signed_in(app, "quantri")
    assert "/retention/" in admin.get("/incidents/").get_data(as_text=True)  # the way there
    page = admin.get("/retention/")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    pending = re.search(r'data-testid="pending">(.*?)</dl>', body, re.S).group(1)
    assert re.findall(r"<dd>([^<]*)</dd>", pending)[0] == "1"  # the 13-month-old contact only
    assert "Chưa lần nào xoá gì." in body
    assert "0912000011" not in body  # counts, never the data

    purge(app)
    body = admin.get("/retention/").get_data(as_text=True)
    runs = re.search(r'data-testid="runs">(.*?)</table>', body, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", runs, re.S)[1:]  # after the heading
    assert len(rows) == 1
    cells = re.findall(r"<td[^>]*>(.*?)</td>", rows[0], re.S)
    assert "Tự động hằng đêm" in cells[1] and cells[2].strip() == "1"
    pending = re.search(r'data-testid="pending">(.*?)</dl>', body, re.S).group(1)
    assert re.findall(r"<dd>([^<]*)</dd>", pending)[0] == "0"


@pytest.mark.parametrize("username", ["canbo.xa", "totruong"])
def test_the_retention_page_is_the_city_admins_only(app, demo, username):
    assert signed_in(app, username).get("/retention/").status_code == 404
    queue_page = signed_in(app, username).get("/incidents/").get_data(as_text=True)
    assert "/retention/" not in queue_page


@pytest.mark.parametrize(
    ("actor", "by_hand"), [("retention", None), ("retention (cli:root)", "cli:root")]
)
def test_a_run_says_whether_the_night_or_an_operator_ran_it(actor, by_hand):
    entry = AuditEntry(actor=actor, at=NOW, changes={"tip_contacts": [3, None]})
    run = services._run(entry)
    assert run.by_hand == by_hand
    assert run.counts == {
        "tip_contacts": 3,
        "tip_limits": 0,
        "login_failures": 0,
        "account_sessions": 0,
    }
