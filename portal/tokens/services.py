"""API tokens for the OGC API: made (shown once), listed, revoked by their account, and
checked when a GIS client sends one as `Authorization: Bearer …` on /ogc/.

Only the secret's SHA-256 is stored. Creating and revoking are ORM changes, so the audit log
records them on the account's history (portal.audit: the hash is hidden there). They are not
revertible: a revoked token stays revoked (bringing a leaked secret back would be the revert).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from portal.errors import FormInvalid, NotFound
from portal.extensions import db
from portal.i18n import _
from portal.models import Account, ApiToken
from portal.tokens import queries

TOKEN_PREFIX = "antt_"  # tells a leaked secret apart in logs and secret scanners
NAME_MAX = 80
USE_NOTED_EVERY = timedelta(minutes=1)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def account_for_token(secret: str) -> Account | None:
    """The active account a bearer token stands for, and the token's use noted; None for an
    unknown, revoked or deactivated one."""
    token = db.session.scalar(queries.token_by_hash(_hash(secret)))
    if token is None or token.revoked_at is not None:
        return None
    account = token.account
    if account is None or not account.is_active:
        return None
    now = datetime.now(UTC)
    if token.last_used_at is None or now - token.last_used_at > USE_NOTED_EVERY:
        # at most once a minute (a GIS client pages with many requests), as a bulk UPDATE: the
        # audit log records changes people make, not every read made with a token
        db.session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
        db.session.commit()
    return account


def tokens_of(account: Account) -> list[ApiToken]:
    return list(db.session.scalars(queries.tokens_of(account.id)))


def create_token(account: Account, name: str) -> tuple[ApiToken, str]:
    """A new token for the account; its secret is returned once and never stored."""
    name = " ".join(name.split())
    if not name:
        raise FormInvalid({"name": _("Hãy đặt tên cho mã, ví dụ “QGIS máy phòng kế hoạch”.")})
    if len(name) > NAME_MAX:
        raise FormInvalid({"name": _("Tên dài quá {n} ký tự.", n=NAME_MAX)})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(account_id=account.id, name=name, token_hash=_hash(secret), prefix=secret[:12])
    db.session.add(token)
    db.session.commit()
    return token, secret


def get_token(account: Account, token_id: int) -> ApiToken:
    """One of the account's own tokens; another account's answers 404."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.account_id != account.id:
        raise NotFound(_("Không tìm thấy mã truy cập này."))
    return token


def revoke(account: Account, token_id: int) -> ApiToken:
    token = get_token(account, token_id)
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        db.session.commit()
    return token


def revoke_all(account: Account) -> None:
    """Revoke every open token of the account, in the caller's transaction (a password reset:
    whoever held the account may have made one, and it must end with the sessions)."""
    now = datetime.now(UTC)
    for token in tokens_of(account):
        if token.revoked_at is None:
            token.revoked_at = now  # an ORM change: the audit log records each
