"""What is deleted, and when: the one service the nightly job and `flask purge-personal-data`
both call.

- tip_contacts: a reporter's name and contact, once the tip was received more than
  CONTACT_RETENTION_MONTHS calendar months ago (Vietnam's calendar). The incident, its photo
  and has_contact stay: the officer's page says the contact was removed, and why.
- tip_limits: keyed hashes of addresses and devices (tips and status look-ups), of no use
  after a day, their longest window (portal.tips.limits.KEEP).
- login_failures: sign-in failures keep the address in clear; of no use after the sign-in
  window (LOGIN_WINDOW_MINUTES).
- account_sessions: ended and expired sign-ins keep the browser's user agent; deleted after
  portal.auth.sessions.KEEP_FOR, as a sign-in already does.

These tables were cleared only as new rows came (a tip, a failed sign-in), so with none coming
their rows stayed for ever. Each run that deletes anything writes one audit row with the counts,
never the data; the deletion is required, so nothing can put it back.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from croniter import croniter
from flask import current_app
from sqlalchemy import delete, func, insert, select

from portal import audit
from portal.auth.sessions import KEEP_FOR as SESSIONS_KEEP_FOR
from portal.extensions import db
from portal.i18n import LOCAL_TZ
from portal.jobs.queue import PURGE_CRON
from portal.models import (
    AccountRole,
    AccountSession,
    AuditEntry,
    Incident,
    LoginFailure,
    TipContact,
    TipLimit,
)
from portal.pagination import Page, paginate
from portal.security import current_scope
from portal.tips.limits import KEEP as TIP_LIMITS_KEEP

ACTOR = "retention"  # the audit log's actor for the nightly job
# the audit row: one per run that deleted something, on no entity's page
ENTITY_TYPE = "personal_data"
OWNER_TYPE = "retention"
KINDS = ("tip_contacts", "tip_limits", "login_failures", "account_sessions")


@dataclass(frozen=True)
class Purged:
    """What a run deleted (or, dry, would delete), per kind, and the cut-off for contacts."""

    counts: dict[str, int]
    contacts_before: datetime  # contacts of tips received before this were deleted
    months: int
    dry_run: bool

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def months_before(moment: datetime, months: int) -> datetime:
    """The same time of day `months` calendar months earlier in Vietnam; a day the month does
    not have becomes its last (31 March less one month is 28 or 29 February)."""
    local = moment.astimezone(LOCAL_TZ)
    year, month = divmod(local.year * 12 + local.month - 1 - months, 12)
    day = min(local.day, calendar.monthrange(year, month + 1)[1])
    return local.replace(year=year, month=month + 1, day=day)


def _conditions(now: datetime, months: int) -> tuple[datetime, dict]:
    config = current_app.config
    cutoff = months_before(now, months)
    login_window = timedelta(minutes=config["LOGIN_WINDOW_MINUTES"])
    received_before = select(Incident.id).where(Incident.received_at < cutoff)
    return cutoff, {
        # strictly before: a tip received exactly the period ago keeps its contact until the
        # next night's run
        "tip_contacts": (TipContact, TipContact.incident_id.in_(received_before)),
        "tip_limits": (TipLimit, TipLimit.at < now - TIP_LIMITS_KEEP),
        "login_failures": (LoginFailure, LoginFailure.at < now - login_window),
        "account_sessions": (AccountSession, AccountSession.started_at < now - SESSIONS_KEEP_FOR),
    }


def purge(now: datetime | None = None, dry_run: bool = False, actor: str = ACTOR) -> Purged:
    """Delete what is past its period and commit, with one audit row of the counts when anything
    was deleted; dry_run only counts, and writes nothing."""
    now = now or datetime.now(UTC)
    months = current_app.config["CONTACT_RETENTION_MONTHS"]
    cutoff, conditions = _conditions(now, months)
    counts = {}
    for kind, (model, condition) in conditions.items():
        if dry_run:
            counts[kind] = db.session.scalar(
                select(func.count()).select_from(model).where(condition)
            )
        else:
            counts[kind] = db.session.execute(delete(model).where(condition)).rowcount
    purged = Purged(counts=counts, contacts_before=cutoff, months=months, dry_run=dry_run)
    if not dry_run:
        if purged.total:
            db.session.execute(insert(AuditEntry).values(**_audit_row(purged, actor)))
        db.session.commit()
    return purged


def _audit_row(purged: Purged, actor: str) -> dict:
    """The run's audit row: counts and the rule applied, as a delete's [before, after] pairs."""
    changes = {kind: [count, None] for kind, count in purged.counts.items() if count}
    changes["retention_months"] = [purged.months, None]
    changes["received_before"] = [purged.contacts_before.isoformat(), None]
    return {
        "actor_id": None,
        "actor": actor[:120],
        "ip": None,
        "action": "delete",
        "entity_type": ENTITY_TYPE,
        "entity_id": 0,
        "owner_type": OWNER_TYPE,
        "owner_id": 0,
        "changes": changes,
    }


@dataclass(frozen=True)
class Run:
    """One past run, as its audit row tells it."""

    at: datetime
    by_hand: str | None  # who ran `flask purge-personal-data` ("cli:<user>"); None: the nightly job
    counts: dict[str, int]
    contacts_before: datetime | None


@dataclass(frozen=True)
class Overview:
    """The city admin's page: the rule, what tonight's run would delete, and the runs so far."""

    months: int
    next_run: datetime
    pending: Purged
    runs: Page


def next_run(now: datetime) -> datetime:
    """When the worker's periodic task runs next (its cron is in UTC)."""
    return croniter(PURGE_CRON, now.astimezone(UTC)).get_next(datetime)


def _run(entry: AuditEntry) -> Run:
    changes = entry.changes or {}
    before = (changes.get("received_before") or [None])[0]
    hand = entry.actor.removeprefix(ACTOR).strip(" ()")  # "retention (cli:root)" by the CLI
    return Run(
        at=entry.at,
        by_hand=hand or None,
        counts={kind: (changes.get(kind) or [0])[0] for kind in KINDS},
        contacts_before=datetime.fromisoformat(before) if before else None,
    )


def overview(page: int = 1, now: datetime | None = None) -> Overview:
    """For the city admin only (404 to anyone else, as other admin pages)."""
    current_scope().require(AccountRole.ADMIN)
    now = now or datetime.now(UTC)
    runs = paginate(audit.history(OWNER_TYPE, 0), page)
    return Overview(
        months=current_app.config["CONTACT_RETENTION_MONTHS"],
        next_run=next_run(now),
        pending=purge(now=now, dry_run=True),
        runs=replace(runs, items=[_run(entry) for entry in runs.items]),
    )
