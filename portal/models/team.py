"""Security-and-order teams, the areas they cover, their members and the sizing rules."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    and_,
    func,
    or_,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db


class Role(StrEnum):
    LEADER = "leader"  # tổ trưởng
    DEPUTY = "deputy"  # tổ phó
    MEMBER = "member"  # tổ viên


class Education(StrEnum):
    PRIMARY = "primary"  # enough only in remote and ethnic-minority areas
    LOWER_SECONDARY = "lower_secondary"
    UPPER_SECONDARY = "upper_secondary"
    HIGHER = "higher"


class Team(db.Model):
    """A tổ bảo vệ an ninh, trật tự: belongs to one commune."""

    __tablename__ = "teams"
    __table_args__ = (
        UniqueConstraint("id", "commune_id", name="uq_teams_id_commune"),
        CheckConstraint(
            "dissolved_on IS NULL OR dissolved_on >= established_on", name="valid_period"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_search: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    decision_number: Mapped[str | None] = mapped_column(String(100))
    decision_date: Mapped[date | None] = mapped_column(Date)
    established_on: Mapped[date] = mapped_column(Date)
    dissolved_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    members: Mapped[list[Member]] = relationship(back_populates="team", order_by="Member.id")


class TeamArea(db.Model):
    """A team covering a village-level area for a period.

    The composite foreign keys make the database refuse an area outside the team's commune,
    and the exclusion constraint refuses two teams on one area at the same time.
    """

    __tablename__ = "team_areas"
    __table_args__ = (
        ForeignKeyConstraint(
            ["team_id", "commune_id"],
            ["teams.id", "teams.commune_id"],
            name="fk_team_areas_team_commune",
        ),
        ForeignKeyConstraint(
            ["area_id", "commune_id"],
            ["areas.id", "areas.parent_id"],
            name="fk_team_areas_area_commune",
        ),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="valid_period"),
        ExcludeConstraint(
            ("area_id", "="),
            (text("daterange(valid_from, valid_to)"), "&&"),
            name="ex_team_areas_one_team_per_area",
            using="gist",
        ),
        Index("ix_team_areas_team", "team_id"),
        Index("ix_team_areas_area", "area_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(Integer)
    commune_id: Mapped[int] = mapped_column(Integer)
    area_id: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)  # exclusive: the first day not covered

    @classmethod
    def active(cls):
        """SQL condition: the row covers its area today."""
        today = func.current_date()
        return and_(cls.valid_from <= today, or_(cls.valid_to.is_(None), cls.valid_to > today))


class Member(db.Model):
    """A member of a team. Birth date and residence are private: never on a public page."""

    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint("role IN ('leader', 'deputy', 'member')", name="role"),
        CheckConstraint(
            "education IN ('primary', 'lower_secondary', 'upper_secondary', 'higher')",
            name="education",
        ),
        CheckConstraint("left_on IS NULL OR left_on >= appointment_date", name="valid_period"),
        # at most one serving leader per team
        Index(
            "uq_members_one_leader",
            "team_id",
            unique=True,
            postgresql_where=text("role = 'leader' AND left_on IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    full_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(String(20))
    birth_date: Mapped[date] = mapped_column(Date)
    residence_area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    resident_since: Mapped[date | None] = mapped_column(Date)
    education: Mapped[str] = mapped_column(String(20))
    age_approval: Mapped[str | None] = mapped_column(String(200))  # needed when over 70
    appointment_number: Mapped[str] = mapped_column(String(100))
    appointment_date: Mapped[date] = mapped_column(Date)
    appointment_signer: Mapped[str] = mapped_column(String(200))
    left_on: Mapped[date | None] = mapped_column(Date)
    left_decision: Mapped[str | None] = mapped_column(String(100))

    team: Mapped[Team] = relationship(back_populates="members")


class SizingRule(db.Model):
    """How many members a team needs, per province (data, not code).

    needed = min_members, plus one per population_step residents (or part of it) above
    population_base when those are set; max_members caps the team when set.
    Hanoi: 3..5. Ho Chi Minh City: 3 up to 2,700 residents, +1 per further 900.
    """

    __tablename__ = "sizing_rules"
    __table_args__ = (
        CheckConstraint("min_members >= 1", name="min_members"),
        CheckConstraint("max_members IS NULL OR max_members >= min_members", name="max_members"),
        CheckConstraint("max_deputies >= 0", name="max_deputies"),
        CheckConstraint(
            "(population_base IS NULL) = (population_step IS NULL)", name="population_formula"
        ),
        CheckConstraint("population_step IS NULL OR population_step > 0", name="population_step"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), unique=True)
    min_members: Mapped[int] = mapped_column(Integer)
    max_members: Mapped[int | None] = mapped_column(Integer)
    max_deputies: Mapped[int] = mapped_column(Integer)
    population_base: Mapped[int | None] = mapped_column(Integer)
    population_step: Mapped[int | None] = mapped_column(Integer)
