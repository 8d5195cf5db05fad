"""The commune police's public contact, shown to citizens beside their village's team."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class PoliceContact(db.Model):
    """Công an xã/phường: the office citizens call or visit; all of it is public."""

    __tablename__ = "police_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(300))  # the office's, never a person's
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
