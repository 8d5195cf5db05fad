"""Queries of account management; scoped so that only city admins find anything."""

from __future__ import annotations

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import load_only

from portal.models import Account, Area, Team
from portal.scope import Scope


def accounts(scope: Scope, text: str = "") -> Select:
    query = scope.accounts(select(Account))
    if text:
        pattern = f"%{text.lower()}%"
        query = query.where(
            or_(
                func.lower(Account.username).like(pattern),
                func.lower(Account.full_name).like(pattern),
            )
        )
    return query.order_by(Account.username)


def account(account_id: int, scope: Scope) -> Select:
    return scope.accounts(select(Account).where(Account.id == account_id))


def username_taken(username: str, except_id: int | None = None) -> Select:
    query = select(Account.id).where(func.lower(Account.username) == username.lower())
    if except_id:
        query = query.where(Account.id != except_id)
    return query


def communes(scope: Scope) -> Select:
    return (
        scope.areas(select(Area).where(Area.level == "commune", Area.valid_to.is_(None)))
        .options(load_only(Area.id, Area.name))
        .order_by(Area.name)
    )


def teams_of_commune(commune_id: int, scope: Scope) -> Select:
    return scope.teams(
        select(Team).where(Team.commune_id == commune_id, Team.dissolved_on.is_(None))
    ).order_by(Team.id)
