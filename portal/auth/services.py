"""Signing in and out; accounts are created by admins and the demo seed."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import session
from sqlalchemy import func, select

from portal.auth.passwords import hash_password, needs_rehash, verify_password
from portal.errors import DomainError, Invalid
from portal.extensions import db
from portal.i18n import _
from portal.models import Account, AccountRole

MIN_PASSWORD_LENGTH = 12


class LoginFailed(DomainError):
    status = 401


def authenticate(username: str, password: str) -> Account:
    """The active account with these credentials; one message for every failure (no enumeration)."""
    account = db.session.scalar(
        select(Account).where(func.lower(Account.username) == username.strip().lower())
    )
    ok = verify_password(account.password_hash if account else None, password)
    if not ok or account is None or not account.is_active:
        raise LoginFailed(_("Tên đăng nhập hoặc mật khẩu không đúng."))
    if needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    account.last_login_at = datetime.now(UTC)
    db.session.commit()
    return account


def start_session(account: Account) -> None:
    # a new session at login: nothing from before the login carries over (session fixation)
    lang = session.get("lang")
    session.clear()
    session["account_id"] = account.id
    if lang:
        session["lang"] = lang
    session.permanent = True


def end_session() -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def create_account(
    username: str,
    password: str,
    full_name: str,
    role: AccountRole,
    *,
    commune_id: int | None = None,
    team_id: int | None = None,
) -> Account:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(_("Mật khẩu phải có ít nhất {n} ký tự.", n=MIN_PASSWORD_LENGTH))
    account = Account(
        username=username.strip().lower(),
        full_name=full_name,
        password_hash=hash_password(password),
        role=role.value,
        commune_id=commune_id,
        team_id=team_id,
    )
    db.session.add(account)
    db.session.flush()
    return account
