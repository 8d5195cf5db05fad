"""Administrative areas at every level, and the history of their boundaries."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from geoalchemy2 import Geometry
from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db


class Level(StrEnum):
    PROVINCE = "province"
    DISTRICT = "district"  # only for the pre-2025 layout, kept as history
    COMMUNE = "commune"
    VILLAGE = "village"


# Kinds per level: the law names thôn, tổ dân phố and their regional synonyms.
KINDS: dict[Level, tuple[str, ...]] = {
    Level.PROVINCE: ("thanh_pho", "tinh"),
    Level.DISTRICT: ("quan", "huyen", "thi_xa", "thanh_pho_thuoc_tinh"),
    Level.COMMUNE: ("phuong", "xa", "dac_khu"),
    Level.VILLAGE: ("thon", "lang", "ap", "ban", "to_dan_pho", "khu_pho", "khom"),
}
ALL_KINDS = tuple(k for kinds in KINDS.values() for k in kinds)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


class Area(db.Model):
    """A province, commune or village-level area with its current boundary.

    An area keeps its id across boundary edits (teams and children stay attached); the earlier
    boundaries are kept in AreaVersion. valid_from/valid_to is the area's own lifetime, ended
    when a decision merges or dissolves it.
    """

    __tablename__ = "areas"
    __table_args__ = (
        CheckConstraint(_in("level", tuple(Level)), name="level"),
        CheckConstraint(_in("kind", ALL_KINDS), name="kind"),
        CheckConstraint("(level = 'province') = (parent_id IS NULL)", name="parent_by_level"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_period"),
        CheckConstraint("population IS NULL OR population >= 0", name="population"),
        CheckConstraint("geom IS NULL OR ST_IsValid(geom)", name="geom_valid"),
        CheckConstraint("households IS NULL OR households >= 0", name="households"),
        # (id, parent_id) is what team_areas points at, so that the database itself keeps a
        # team's areas inside the team's commune.
        UniqueConstraint("id", "parent_id", name="uq_areas_id_parent"),
        Index(
            "uq_areas_current_code",
            "level",
            "code",
            unique=True,
            postgresql_where=text("valid_to IS NULL AND code IS NOT NULL"),
        ),
        Index("ix_areas_parent_current", "parent_id", postgresql_where=text("valid_to IS NULL")),
        Index("ix_areas_geom", "geom", postgresql_using="gist"),
        Index(
            "ix_areas_name_search_trgm",
            "name_search",
            postgresql_using="gin",
            postgresql_ops={"name_search": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(24))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    code: Mapped[str | None] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    name_search: Mapped[str] = mapped_column(String(200))
    population: Mapped[int | None] = mapped_column(Integer)
    households: Mapped[int | None] = mapped_column(Integer)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=True)
    valid_from: Mapped[date] = mapped_column(Date, server_default=func.current_date())
    valid_to: Mapped[date | None] = mapped_column(Date)
    decision_number: Mapped[str | None] = mapped_column(String(100))
    decision_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    parent: Mapped[Area | None] = relationship(remote_side=[id])

    @property
    def is_current(self) -> bool:
        return self.valid_to is None


class AreaVersion(db.Model):
    """An earlier state of an area (name and boundary), kept when a decision changed it."""

    __tablename__ = "area_versions"
    __table_args__ = (CheckConstraint("valid_to >= valid_from", name="valid_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    population: Mapped[int | None] = mapped_column(Integer)
    households: Mapped[int | None] = mapped_column(Integer)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    decision_number: Mapped[str | None] = mapped_column(String(100))
    decision_date: Mapped[date | None] = mapped_column(Date)
    change_id: Mapped[int | None] = mapped_column(ForeignKey("boundary_changes.id"))
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
