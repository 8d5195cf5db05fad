"""The review's monthly figures, kept by triggers on patrols and incidents (migration 0014).

Derived data: `flask rebuild-review` (the database's review_rebuild()) writes them again from
the rows. The review reads whole months here and the days of a period outside whole months from
the rows (review_patrols_raw, review_incidents_raw), with the same definitions.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Float, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class ReviewPatrols(db.Model):
    """A team's patrols in a month (the month of each patrol's local day)."""

    __tablename__ = "review_patrols"
    __table_args__ = (Index("ix_review_patrols_commune_month", "commune_id", "month"),)

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    team_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune_id: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer, default=0)
    cancelled: Mapped[int] = mapped_column(Integer, default=0)
    joint: Mapped[int] = mapped_column(Integer, default=0)  # with the commune police
    violations: Mapped[int] = mapped_column(Integer, default=0)
    handed: Mapped[int] = mapped_column(Integer, default=0)  # situations handed to the police


class ReviewIncidents(db.Model):
    """Items of one source and kind in a month, per commune and team (no team: NULL).

    A tip counts in the month it was received, a team's item in the month it happened; an item
    merged into another is not counted again."""

    __tablename__ = "review_incidents"
    __table_args__ = (
        # the triggers' ON CONFLICT target: no team counts as one key
        Index(
            "uq_review_incidents_key",
            "month",
            "commune_id",
            func.coalesce(db.column("team_id"), 0),
            "source",
            "kind",
            unique=True,
        ),
        Index("ix_review_incidents_month", "month"),
        Index("ix_review_incidents_team", "team_id", "month"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    month: Mapped[date] = mapped_column(Date)
    commune_id: Mapped[int] = mapped_column(Integer)
    team_id: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(20))
    items: Mapped[int] = mapped_column(Integer, default=0)
    valuable: Mapped[int] = mapped_column(Integer, default=0)
    passed: Mapped[int] = mapped_column(Integer, default=0)
    pass_seconds: Mapped[float] = mapped_column(Float, default=0.0)  # received → passed, summed
    handed: Mapped[int] = mapped_column(Integer, default=0)


class ReviewCommunes(db.Model):
    """A commune's patrols and items in a month, in the report's columns: the city's review."""

    __tablename__ = "review_communes"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    commune_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patrols: Mapped[int] = mapped_column(Integer, default=0)
    cancelled: Mapped[int] = mapped_column(Integer, default=0)
    joint: Mapped[int] = mapped_column(Integer, default=0)
    violations: Mapped[int] = mapped_column(Integer, default=0)
    handed: Mapped[int] = mapped_column(Integer, default=0)
    tips: Mapped[int] = mapped_column(Integer, default=0)
    valuable: Mapped[int] = mapped_column(Integer, default=0)
    tips_passed: Mapped[int] = mapped_column(Integer, default=0)
    pass_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    team_items: Mapped[int] = mapped_column(Integer, default=0)
    fire: Mapped[int] = mapped_column(Integer, default=0)
    rescue: Mapped[int] = mapped_column(Integer, default=0)
