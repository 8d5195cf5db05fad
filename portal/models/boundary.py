"""Boundary work: decided changes (edit, split, merge, revert), uploads awaiting review (their
features and problems as rows), flags for teams a change affected, and the subdivided and the
simplified copies of every polygon."""

from __future__ import annotations

from datetime import date, datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
)
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
    """An uploaded file, read and checked, waiting for the planner to commit or discard it.

    Its features and problems are rows (ImportFeature, ImportProblem; see
    portal.boundaries.batches); the counts a page shows are kept here, so that no page counts
    thousands of rows, and lists of uploads read only this small row.
    """

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    filename: Mapped[str] = mapped_column(String(255))
    level: Mapped[str] = mapped_column(String(10))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    source_crs: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="draft")  # draft, committed, discarded
    committed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    result: Mapped[dict | None] = mapped_column(JSONB)
    # the dry run's summary, written once with the rows (batches.save_plan)
    feature_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    creates: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updates: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    unchanged: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    blocked: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    usable: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # with repairs
    clean: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    warning_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # where the features lie (lon/lat), for the map's first view; None when nothing is drawn
    west: Mapped[float | None] = mapped_column(Float)
    south: Mapped[float | None] = mapped_column(Float)
    east: Mapped[float | None] = mapped_column(Float)
    north: Mapped[float | None] = mapped_column(Float)


class ImportFeature(db.Model):
    """One feature of an upload's dry run: what it would become, and its shapes."""

    __tablename__ = "import_features"
    __table_args__ = (Index("ix_import_features_display", "display", postgresql_using="gist"),)

    batch_id: Mapped[int] = mapped_column(
        ForeignKey("import_batches.id", ondelete="CASCADE"), primary_key=True
    )
    index: Mapped[int] = mapped_column(Integer, primary_key=True)  # from 1, as in the file
    code: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    name_en: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(String(24))
    parent_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(10))  # create, update, unchanged, blocked
    area_id: Mapped[int | None] = mapped_column(Integer)  # the area an update replaces
    status: Mapped[str] = mapped_column(String(10))  # ok, warning, error, unchanged (the map's)
    # WGS 84, exactly as read (possibly invalid), and the repair offered for an invalid one
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))
    repaired = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))
    # what the map draws: the shape (or its repair) simplified below a metre, GiST-indexed
    display = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))


class ImportProblem(db.Model):
    """A problem (error), warning or note of an upload's dry run; `position` is the order the
    dry run lists them in: errors first, then warnings on features, then those on the file."""

    __tablename__ = "import_problems"
    __table_args__ = (
        Index("ix_import_problems_batch_position", "batch_id", "position"),
        Index("ix_import_problems_shape", "shape", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(10))  # error, warning, note
    index: Mapped[int] = mapped_column(Integer)  # the feature (0: the file as a whole)
    code: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text, default="")
    lon: Mapped[float | None] = mapped_column(Float)  # where, when known
    lat: Mapped[float | None] = mapped_column(Float)
    area_m2: Mapped[float | None] = mapped_column(Float)  # warnings
    other: Mapped[str | None] = mapped_column(Text)  # warnings: what it overlaps
    shape = mapped_column(Geometry("GEOMETRY", srid=4326, spatial_index=False))  # warnings
    repairable: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict | None] = mapped_column(JSONB)  # notes: what the note says


class AreaPart(db.Model):
    """A piece of a current area's polygon (ST_Subdivide): fast point look-ups on small boxes.

    Kept in step with areas by a database trigger, whatever writes the areas.
    """

    __tablename__ = "area_parts"
    __table_args__ = (Index("ix_area_parts_geom", "geom", postgresql_using="gist"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"), index=True)
    geom = mapped_column(Geometry("POLYGON", srid=4326, spatial_index=False), nullable=False)


class AreaShape(db.Model):
    """An area's shape for drawing (simplified below half a metre) and its area on the spheroid.

    Kept in step with areas by a database trigger, like area_parts, so that a page showing a
    village with a 200,000-vertex ring reads a few hundred vertices and a stored number.
    """

    __tablename__ = "area_shapes"

    area_id: Mapped[int] = mapped_column(
        ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True
    )
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False)
    area_m2: Mapped[float] = mapped_column(Float)
    vertices: Mapped[int] = mapped_column(Integer)  # of the full shape in areas
