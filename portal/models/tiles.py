"""The map tiles' generation numbers (migration 0018): one row, bumped by triggers."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class TileGeneration(db.Model):
    """Each number moves at the commit of a change to what its layer shows besides boundaries:
    stored coverage (coverage_villages), patrol activity, incidents (portal.tiles reads it)."""

    __tablename__ = "tile_generation"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1, autoincrement=False)
    coverage: Mapped[int] = mapped_column(BigInteger, default=1)
    patrols: Mapped[int] = mapped_column(BigInteger, default=1)
    incidents: Mapped[int] = mapped_column(BigInteger, default=1)
