"""The audit log: who changed what, when, with the values before and after. Append-only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class AuditEntry(db.Model):
    """One change to one entity. The database refuses UPDATE, DELETE and TRUNCATE on this table.

    owner_type/owner_id name the page whose history shows the entry: a member's changes show on
    its team's page, an area's on the area's page.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_owner", "owner_type", "owner_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # no foreign key: the log outlives the accounts it names
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(120))
    ip: Mapped[str | None] = mapped_column(String(45))
    action: Mapped[str] = mapped_column(String(10))  # create, update, delete
    entity_type: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[int] = mapped_column(Integer)
    owner_type: Mapped[str] = mapped_column(String(30))
    owner_id: Mapped[int] = mapped_column(Integer)
    changes: Mapped[dict] = mapped_column(JSONB)  # {field: [before, after]}


class LoginFailure(db.Model):
    """A failed sign-in, by account name at an address and by address; shared by all workers
    for throttling (portal.auth.throttle), deleted past the sign-in window every night
    (portal.retention)."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))  # "user:<name>@<address>" or "ip:<address>"
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
