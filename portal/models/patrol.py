"""Patrols: a team's routes (versioned lines), its planned and recorded patrols with who went and
what was found, GPS tracks, the province's patrol and allowance rules, and the activity per
village and month that the planners' maps read.

Times are stored with their time zone; a patrol's `day` is the local (Vietnam) date its planned
start falls on, the key every list, month and index uses.
"""

from __future__ import annotations

from datetime import date, datetime, time

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class PatrolStatus:
    PLANNED = "planned"
    DONE = "done"
    CANCELLED = "cancelled"
    ALL = (PLANNED, DONE, CANCELLED)


class DutyRule:
    DAILY_HOURS = "daily_hours"  # Hanoi: a day with at least N hours of duty is a duty day
    NIGHT_SHIFTS = "night_shifts"  # Ho Chi Minh City: night shifts in a window, capped a month
    ALL = (DAILY_HOURS, NIGHT_SHIFTS)


# Kinds of violation a patrol records; labels in portal.patrols.services.
VIOLATION_KINDS = (
    "public_order",  # gây rối trật tự công cộng
    "traffic",  # vi phạm trật tự an toàn giao thông
    "theft",  # trộm cắp tài sản
    "drugs",  # ma túy
    "gambling",  # cờ bạc
    "fire_safety",  # phòng cháy, chữa cháy
    "residence",  # cư trú
    "sidewalk",  # lấn chiếm vỉa hè, lòng đường
    "other",
)


class PatrolRules(db.Model):
    """A province's patrol rules: how far a route may leave the team's villages, and which duty
    counts for an allowance (data, not code)."""

    __tablename__ = "patrol_rules"
    __table_args__ = (
        CheckConstraint("route_tolerance_m >= 0", name="route_tolerance"),
        CheckConstraint("duty_rule IN ('daily_hours', 'night_shifts')", name="duty_rule"),
        CheckConstraint(
            "duty_rule <> 'daily_hours' OR min_hours_per_day IS NOT NULL", name="daily_hours"
        ),
        CheckConstraint(
            "duty_rule <> 'night_shifts' OR (night_start IS NOT NULL AND night_end IS NOT NULL"
            " AND min_night_hours IS NOT NULL)",
            name="night_shifts",
        ),
        CheckConstraint("max_per_month IS NULL OR max_per_month >= 0", name="max_per_month"),
    )

    province_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), primary_key=True)
    route_tolerance_m: Mapped[float] = mapped_column(Float, default=50.0)
    duty_rule: Mapped[str] = mapped_column(String(20), default=DutyRule.DAILY_HOURS)
    min_hours_per_day: Mapped[float | None] = mapped_column(Float)
    night_start: Mapped[time | None] = mapped_column(Time)
    night_end: Mapped[time | None] = mapped_column(Time)
    min_night_hours: Mapped[float | None] = mapped_column(Float)
    max_per_month: Mapped[int | None] = mapped_column(Integer)


class PatrolRoute(db.Model):
    """A named patrol route of one team; its line lives in versions, the latest is current."""

    __tablename__ = "patrol_routes"
    __table_args__ = (
        ForeignKeyConstraint(
            ["team_id", "commune_id"],
            ["teams.id", "teams.commune_id"],
            name="fk_patrol_routes_team_commune",
        ),
        Index("ix_patrol_routes_team", "team_id"),
        Index("ix_patrol_routes_commune", "commune_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(Integer)
    commune_id: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("route_versions.id", use_alter=True, name="fk_patrol_routes_current_version")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RouteVersion(db.Model):
    """A route's line as drawn at one time; patrols keep the version they were planned on."""

    __tablename__ = "route_versions"
    __table_args__ = (UniqueConstraint("route_id", "number", name="uq_route_versions_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("patrol_routes.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    geom = mapped_column(Geometry("MULTILINESTRING", srid=4326, spatial_index=True))
    length_m: Mapped[float] = mapped_column(Float)  # geodesic
    # how far the line goes outside the team's villages at its worst (within the tolerance)
    outside_m: Mapped[float] = mapped_column(Float, default=0.0)
    # the villages the line passes through: a done patrol counts for each of them
    area_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(120))


class Patrol(db.Model):
    """A patrol planned by a team, then recorded as done (or cancelled)."""

    __tablename__ = "patrols"
    __table_args__ = (
        ForeignKeyConstraint(
            ["team_id", "commune_id"],
            ["teams.id", "teams.commune_id"],
            name="fk_patrols_team_commune",
        ),
        CheckConstraint("status IN ('planned', 'done', 'cancelled')", name="status"),
        CheckConstraint("planned_end > planned_start", name="planned_period"),
        CheckConstraint(
            "status <> 'done' OR (started_at IS NOT NULL AND ended_at > started_at)",
            name="done_period",
        ),
        CheckConstraint("violations >= 0 AND handed_to_police >= 0", name="counts"),
        # a team's list, newest first; a commune's month; the city's period
        Index("ix_patrols_team_day", "team_id", "day"),
        Index("ix_patrols_commune_day", "commune_id", "day"),
        Index("ix_patrols_day", "day"),
        Index("ix_patrols_route_version", "route_version_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    team_id: Mapped[int] = mapped_column(Integer)
    commune_id: Mapped[int] = mapped_column(Integer)
    route_version_id: Mapped[int | None] = mapped_column(ForeignKey("route_versions.id"))
    day: Mapped[date] = mapped_column(Date)  # local date of the planned start
    planned_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    planned_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(10), default=PatrolStatus.PLANNED)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    joint_police: Mapped[bool] = mapped_column(Boolean, default=False)
    violations: Mapped[int] = mapped_column(Integer, default=0)  # the findings' sum
    handed_to_police: Mapped[int] = mapped_column(Integer, default=0)  # situations handed over
    handover_note: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    recorded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PatrolMember(db.Model):
    """A member on a patrol: planned on duty, and whether they went (their duty time)."""

    __tablename__ = "patrol_members"
    __table_args__ = (Index("ix_patrol_members_member", "member_id"),)

    patrol_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("patrols.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    planned: Mapped[bool] = mapped_column(Boolean, default=True)
    went: Mapped[bool] = mapped_column(Boolean, default=False)


class PatrolFinding(db.Model):
    """Violations of one kind found on a patrol."""

    __tablename__ = "patrol_findings"
    __table_args__ = (CheckConstraint("count > 0", name="count"),)

    patrol_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("patrols.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class PatrolTrack(db.Model):
    """The GPS track of a patrol as uploaded, and how much of the planned route it followed."""

    __tablename__ = "patrol_tracks"

    patrol_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("patrols.id", ondelete="CASCADE"), primary_key=True
    )
    geom = mapped_column(Geometry("MULTILINESTRING", srid=4326, spatial_index=False))
    points: Mapped[int] = mapped_column(Integer)
    length_m: Mapped[float] = mapped_column(Float)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # share of the planned route's length the track passed within 30 m of (NULL: no route)
    followed_share: Mapped[float | None] = mapped_column(Float)
    # the parts of the track more than 30 m from the route
    off_route = mapped_column(Geometry("MULTILINESTRING", srid=4326, spatial_index=False))
    filename: Mapped[str] = mapped_column(String(255))
    uploaded_by: Mapped[str] = mapped_column(String(120))
    uploaded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class PatrolActivity(db.Model):
    """Done patrols and violations per village and month, kept by triggers on patrols (migration
    0010): what the planners' activity maps read instead of the patrols themselves."""

    __tablename__ = "patrol_activity"
    __table_args__ = (
        Index("ix_patrol_activity_commune_month", "commune_id", "month"),
        # whether a village was patrolled in a period: one probe a village
        Index("ix_patrol_activity_area_month", "area_id", "month"),
    )

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    area_id: Mapped[int] = mapped_column(
        ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True
    )
    commune_id: Mapped[int] = mapped_column(Integer)
    patrols: Mapped[int] = mapped_column(Integer, default=0)
    violations: Mapped[int] = mapped_column(Integer, default=0)
