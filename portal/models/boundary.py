"""Boundary work: decided changes (edit, split, merge, revert), uploads awaiting review, flags
for teams a change affected, and the subdivided copy of every current polygon."""

from __future__ import annotations

from datetime import date, datetime

from geoalchemy2 import Geometry
from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class BoundaryChange(db.Model):
    """One decided change to village boundaries; before/after name the areas it ended and made."""

    __tablename__ = "boundary_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # edit, split, merge, revert, import
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    decision_number: Mapped[str] = mapped_column(String(100))
    decision_date: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    before_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), default=list)
    after_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), default=list)
    # for edits: the AreaVersion rows holding the boundaries as they were before
    version_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), default=list)
    # which team covered which of the areas before the change ({area_id: team_id}), for reverts
    team_cover: Mapped[dict] = mapped_column(JSONB, default=dict)
    reverts_id: Mapped[int | None] = mapped_column(ForeignKey("boundary_changes.id"))
    reverted_by_id: Mapped[int | None] = mapped_column(ForeignKey("boundary_changes.id"))
    note: Mapped[str | None] = mapped_column(Text)


class BoundaryFlag(db.Model):
    """Something a boundary change left for a planner to settle, e.g. a team it displaced."""

    __tablename__ = "boundary_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("boundary_changes.id"), index=True)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ImportBatch(db.Model):
    """An uploaded file, read and checked, waiting for the planner to commit or discard it."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    filename: Mapped[str] = mapped_column(String(255))
    level: Mapped[str] = mapped_column(String(10))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    source_crs: Mapped[str] = mapped_column(String(200))
    # features in WGS 84 as GeoJSON, with their checks; see portal.boundaries.planning
    features: Mapped[list] = mapped_column(JSONB)
    problems: Mapped[list] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(10), default="draft")  # draft, committed, discarded
    committed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    result: Mapped[dict | None] = mapped_column(JSONB)


class AreaPart(db.Model):
    """A piece of a current area's polygon (ST_Subdivide): fast point look-ups on small boxes.

    Kept in step with areas by a database trigger, whatever writes the areas.
    """

    __tablename__ = "area_parts"
    __table_args__ = (Index("ix_area_parts_geom", "geom", postgresql_using="gist"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"), index=True)
    geom = mapped_column(Geometry("POLYGON", srid=4326, spatial_index=False), nullable=False)
