"""Sessions kept on the server: the cookie names a row, and the row says whether it still holds.

Flask's cookie is signed, not stored: a copy made before sign-out would stay good, and re-signing
it on every request would carry it past any lifetime. So the cookie holds only a random id
(`sid`); its SHA-256 names a row of account_sessions, which every request checks: ended (signed
out, account disabled, password reset), older than SESSION_MAX_HOURS, or idle longer than
IDLE_TIMEOUT_MINUTES means signed out.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from flask import current_app
from sqlalchemy import delete, select

from portal.extensions import db
from portal.models import Account, AccountSession

COOKIE_KEY = "sid"
# last_seen_at is written at most this often: a request costs one indexed read, not a write
SEEN_EVERY = timedelta(minutes=1)
# ended and forgotten sessions are deleted after this; the audit log keeps what they changed
KEEP_FOR = timedelta(days=30)


class Resumed(NamedTuple):
    """What a cookie's id comes to: the live session and its account, or why there is none."""

    record: AccountSession | None
    account: Account | None
    expired: str | None = None  # "idle" or "age" when the session ran out of time


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    # Python's clock, not the database's now(), which stands still for a whole transaction
    return datetime.now(UTC)


def open_session(account: Account, user_agent: str | None) -> str:
    """A new session for the account; the random id for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = _now()
    db.session.add(
        AccountSession(
            token_hash=_digest(token),
            account_id=account.id,
            epoch=account.session_epoch,
            started_at=now,
            last_seen_at=now,
            user_agent=(user_agent or "")[:200] or None,
        )
    )
    # keep the table small: a session this old ended long ago, by its lifetime if nothing else
    db.session.execute(delete(AccountSession).where(AccountSession.started_at < now - KEEP_FOR))
    db.session.commit()
    return token


def resume(token: str) -> Resumed:
    """The session a cookie's id names, if it still holds; a session found to have run out is
    marked ended, so that it stays ended whatever the clock does later."""
    found = db.session.execute(
        select(AccountSession, Account)
        .join(Account, Account.id == AccountSession.account_id)
        .where(AccountSession.token_hash == _digest(token))
    ).one_or_none()
    if found is None:
        return Resumed(None, None)
    record, account = found
    if record.ended_at is not None:
        return Resumed(None, None)
    now = _now()
    config = current_app.config
    expired = None
    if now - record.started_at > timedelta(hours=config["SESSION_MAX_HOURS"]):
        expired = "age"  # however busy: a stolen session cannot be kept alive by using it
    elif now - record.last_seen_at > timedelta(minutes=config["IDLE_TIMEOUT_MINUTES"]):
        expired = "idle"
    if expired or not account.is_active or account.session_epoch != record.epoch:
        # disabled, or given a new password since this session signed in, or out of time
        end(record)
        return Resumed(None, None, expired)
    if now - record.last_seen_at >= SEEN_EVERY:
        record.last_seen_at = now
        db.session.commit()
    return Resumed(record, account)


def end(record: AccountSession | None) -> None:
    """Mark the session ended (signing out, or found out of time); its id is then worthless."""
    if record is None or record.ended_at is not None:
        return
    record.ended_at = _now()
    db.session.commit()


def keep(record: AccountSession | None, account: Account) -> None:
    """The session carries on past its own account's new session_epoch (own password change)."""
    if record is not None:
        record.epoch = account.session_epoch
        db.session.commit()
