"""Sign-in throttling by account name and by address, shared by every worker through PostgreSQL.

The account key is the name typed, whether or not such an account exists, so the answer never
tells an attacker which names are real.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, insert, select

from portal.extensions import db
from portal.models import LoginFailure


def keys(username: str, address: str | None) -> tuple[str, str]:
    return f"user:{username.strip().lower()}", f"ip:{address or 'unknown'}"


def _window() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"])


def retry_after_minutes(username: str, address: str | None) -> int | None:
    """Minutes until a sign-in may be tried again, or None when it may be tried now."""
    config = current_app.config
    user_key, ip_key = keys(username, address)
    since = _window()
    rows = db.session.execute(
        select(LoginFailure.key, func.count(), func.min(LoginFailure.at))
        .where(LoginFailure.key.in_([user_key, ip_key]), LoginFailure.at > since)
        .group_by(LoginFailure.key)
    ).all()
    limits = {user_key: config["LOGIN_MAX_PER_ACCOUNT"], ip_key: config["LOGIN_MAX_PER_ADDRESS"]}
    blocked_until = None
    for key, count, oldest in rows:
        if count >= limits[key]:
            until = oldest + timedelta(minutes=config["LOGIN_WINDOW_MINUTES"])
            blocked_until = max(blocked_until or until, until)
    if blocked_until is None:
        return None
    seconds = (blocked_until - datetime.now(UTC)).total_seconds()
    return max(1, int(seconds // 60) + 1)


def record_failure(username: str, address: str | None) -> None:
    """Count a failed sign-in against both keys; committed at once, whatever happens next."""
    db.session.execute(insert(LoginFailure), [{"key": k} for k in keys(username, address)])
    # old rows are of no use: keep the table small
    db.session.execute(
        delete(LoginFailure).where(LoginFailure.at < datetime.now(UTC) - timedelta(days=1))
    )
    db.session.commit()


def clear_account(username: str) -> None:
    """A successful sign-in forgets the account's failures (not the address's)."""
    db.session.execute(delete(LoginFailure).where(LoginFailure.key == keys(username, None)[0]))
