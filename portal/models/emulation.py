"""The emulation movement's criteria: what ranks teams and communes, and how much each counts
(data, not code: an admin changes the weights on the ranking page)."""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class EmulationCriterion(db.Model):
    """One criterion of a province's emulation ranking: its weight and which way is better."""

    __tablename__ = "emulation_criteria"
    __table_args__ = (CheckConstraint("weight >= 0", name="weight"),)

    province_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(30), primary_key=True)
    label: Mapped[str] = mapped_column(String(120))  # Vietnamese, as the report names it
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    higher_better: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)  # the table's column order
