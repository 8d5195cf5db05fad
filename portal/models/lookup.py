"""The public look-up's generation numbers (migration 0016): one row, bumped by triggers."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class LookupGeneration(db.Model):
    """`bounds` moves when areas or their parts change, `cards` with it and whenever a team,
    a member, a police contact or a stored shape changes (portal.lookup.index reads it)."""

    __tablename__ = "lookup_generation"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1, autoincrement=False)
    cards: Mapped[int] = mapped_column(BigInteger, default=1)
    bounds: Mapped[int] = mapped_column(BigInteger, default=1)
