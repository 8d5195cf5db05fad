"""Queries of API tokens; each returns a select()."""

from __future__ import annotations

from sqlalchemy import Select, select

from portal.models import ApiToken


def token_by_hash(token_hash: str) -> Select:
    return select(ApiToken).where(ApiToken.token_hash == token_hash)


def tokens_of(account_id: int) -> Select:
    """An account's tokens: those in use first, newest first."""
    return (
        select(ApiToken)
        .where(ApiToken.account_id == account_id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id)
    )
