"""Accounts of the people who work in the portal; citizens need none."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db


class AccountRole(StrEnum):
    ADMIN = "admin"  # city admin: everything in the city
    COMMUNE_OFFICER = "commune_officer"  # one commune
    TEAM_LEADER = "team_leader"  # one team


class Account(db.Model):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(
            "(role = 'admin' AND commune_id IS NULL AND team_id IS NULL)"
            " OR (role = 'commune_officer' AND commune_id IS NOT NULL AND team_id IS NULL)"
            " OR (role = 'team_leader' AND team_id IS NOT NULL)",
            name="scope_by_role",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    is_active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # bumped when the password is reset: sessions signed in before then end
    session_epoch: Mapped[int] = mapped_column(Integer, server_default="0")

    commune = relationship("Area", foreign_keys=[commune_id])
    team = relationship("Team", foreign_keys=[team_id])


class AccountSession(db.Model):
    """One sign-in, kept on the server (portal.auth.sessions).

    The cookie carries only a random id; this row decides whether it is still good, so signing
    out, the idle timeout and the absolute lifetime hold even for a copied cookie. Only the id's
    SHA-256 is stored: a copy of this table cannot be replayed as cookies.
    """

    __tablename__ = "account_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    # the account's session_epoch at sign-in: a password reset bumps the account's and ends this
    epoch: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    user_agent: Mapped[str | None] = mapped_column(String(200))


class ApiToken(db.Model):
    """A bearer token for the OGC API (/ogc/ only), scoped like its account (migration 0017).

    Only the secret's SHA-256 is stored: shown once when made, it cannot be read back, and a
    copy of this table cannot be replayed. Revoked tokens stay, as the log's subject.
    """

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint("length(token_hash) = 64", name="hash_length"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    account = relationship("Account", foreign_keys=[account_id])
