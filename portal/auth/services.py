"""Signing in and out; accounts are created by admins and the demo seed."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, session
from sqlalchemy import func, select

from portal.auth import sessions, throttle
from portal.auth.passwords import (
    MIN_LENGTH,
    hash_password,
    needs_rehash,
    verify_password,
    weakness,
)
from portal.errors import DomainError, Invalid
from portal.extensions import db
from portal.i18n import N_, _
from portal.models import Account, AccountRole
from portal.security import current_session


class LoginFailed(DomainError):
    status = 401


class LoginThrottled(DomainError):
    status = 429


PASSWORD_PROBLEMS = {
    "too_short": N_("Mật khẩu phải có ít nhất {n} ký tự."),
    "common": N_(
        "Mật khẩu này nằm trong danh sách mật khẩu phổ biến nhất. Hãy chọn mật khẩu khác."
    ),
    "contains_username": N_("Mật khẩu không được chứa tên đăng nhập."),
    "guessable": N_("Mật khẩu quá dễ đoán. Hãy dùng một cụm nhiều từ hoặc thêm ký tự khác loại."),
}


def check_password(password: str, username: str = "") -> None:
    """Raise Invalid with the reason when the password does not meet the policy."""
    problem = weakness(password, username)
    if problem:
        raise Invalid(_(PASSWORD_PROBLEMS[problem], n=MIN_LENGTH))


def authenticate(username: str, password: str, address: str | None) -> Account:
    """The active account with these credentials.

    Every failure gets the same message, and throttling counts the name typed whether or not it
    exists, so neither tells which account names are real.
    """
    wait = throttle.retry_after_minutes(username, address)
    if wait is not None:
        raise LoginThrottled(_("Đăng nhập sai quá nhiều lần. Hãy thử lại sau {m} phút.", m=wait))
    account = db.session.scalar(
        select(Account).where(func.lower(Account.username) == username.strip().lower())
    )
    ok = verify_password(account.password_hash if account else None, password)
    if ok and account is not None and _published_demo_password(account.username, password):
        ok = False
    if not ok or account is None or not account.is_active:
        throttle.record_failure(username, address)
        raise LoginFailed(_("Tên đăng nhập hoặc mật khẩu không đúng."))
    if needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    account.last_login_at = datetime.now(UTC)
    throttle.clear_account(username, address)
    db.session.commit()
    return account


def _published_demo_password(username: str, password: str) -> bool:
    """Production with a demo account's published password: the start-up check
    (portal.demo.guard) cannot see an account enabled, or given that password again, later."""
    if current_app.config["PORTAL_ENV"] != "production":
        return False
    from portal.demo.guard import DEMO_PASSWORDS

    return DEMO_PASSWORDS.get(username.lower()) == password


def start_session(account: Account, user_agent: str | None = None) -> None:
    """Sign the account in: a new server-side session whose random id goes in the cookie."""
    # a new session at login: nothing from before the login carries over (session fixation)
    sessions.end(current_session())
    lang = session.get("lang")
    session.clear()
    session[sessions.COOKIE_KEY] = sessions.open_session(account, user_agent)
    if lang:
        session["lang"] = lang
    session.permanent = True


def keep_session(account: Account) -> None:
    """After the signed-in account's own password changed, its session carries on."""
    sessions.keep(current_session(), account)


def end_session() -> None:
    """Sign out: the session ends on the server, so a copy of the cookie is worthless too."""
    sessions.end(current_session())
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
    check_password(password, username)
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
