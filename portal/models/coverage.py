"""Coverage as computed and stored, one commune at a time: derived data the coverage pages read.

A refresh job (portal.coverage.jobs) recomputes a commune from its villages, teams and members
(geo.coverage) and replaces its rows; a change to those marks the commune stale first. Nothing
here is a source of truth: every row can be computed again from areas, teams and members.
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class CoverageCommune(db.Model):
    """A commune's figures as last computed, and whether a change has made them stale.

    A row with computed_at NULL is a commune asked for but not computed yet.
    """

    __tablename__ = "coverage_communes"

    commune_id: Mapped[int] = mapped_column(
        ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True
    )
    # when the villages, teams and members were read (what "Tính lúc" shows)
    computed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the first change not yet in these figures; NULL when they are up to date
    stale_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    valid_coverage: Mapped[bool] = mapped_column(Boolean, default=True)
    villages: Mapped[int] = mapped_column(Integer, default=0)
    villages_with_team: Mapped[int] = mapped_column(Integer, default=0)
    population: Mapped[int] = mapped_column(BigInteger, default=0)
    population_with_team: Mapped[int] = mapped_column(BigInteger, default=0)
    land_m2: Mapped[float] = mapped_column(Float, default=0.0)
    land_mapped_m2: Mapped[float] = mapped_column(Float, default=0.0)
    counts: Mapped[dict] = mapped_column(JSONB, default=dict)  # problem kind -> how many
    # the commune's outline as the city map draws it (GeoJSON, simplified at the city's scale)
    outline: Mapped[dict | None] = mapped_column(JSONB)
    west: Mapped[float | None] = mapped_column(Float)
    south: Mapped[float | None] = mapped_column(Float)
    east: Mapped[float | None] = mapped_column(Float)
    north: Mapped[float | None] = mapped_column(Float)


class CoverageVillage(db.Model):
    """A village's status on the commune map, with its outline as the map draws it."""

    __tablename__ = "coverage_villages"

    commune_id: Mapped[int] = mapped_column(
        ForeignKey("coverage_communes.commune_id", ondelete="CASCADE"), primary_key=True
    )
    area_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # covered, understaffed, no_leader, no_team, overlap
    status: Mapped[str] = mapped_column(String(20))
    shape: Mapped[dict] = mapped_column(JSONB)  # GeoJSON, simplified at the commune's scale


class CoverageProblem(db.Model):
    """One problem the coverage page lists: filtered, ranked and paged in SQL."""

    __tablename__ = "coverage_problems"
    __table_args__ = (Index("ix_coverage_problems_commune_kind", "commune_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(
        ForeignKey("coverage_communes.commune_id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer)  # its place in the commune's list, for ties
    kind: Mapped[str] = mapped_column(String(20))  # portal.coverage.services.KINDS
    # what the label names: a village, a team, the villages that overlap; the words around it
    # are put at display time, in the reader's language
    name: Mapped[str] = mapped_column(Text)
    members: Mapped[int | None] = mapped_column(Integer)  # a team's serving members
    population: Mapped[int | None] = mapped_column(Integer)
    area_m2: Mapped[float | None] = mapped_column(Float)
    west: Mapped[float] = mapped_column(Float)
    south: Mapped[float] = mapped_column(Float)
    east: Mapped[float] = mapped_column(Float)
    north: Mapped[float] = mapped_column(Float)
    # where a click leads: the village without a team, or the team (no foreign key: derived
    # data, replaced whole by the next refresh)
    area_id: Mapped[int | None] = mapped_column(Integer)
    team_id: Mapped[int | None] = mapped_column(Integer)
    # the piece of land itself (unmapped land, an overlap), for the GeoJSON export
    geom = mapped_column(Geometry("POLYGON", srid=4326, spatial_index=False))
    # the piece as the commune map draws it (GeoJSON), for unmapped land
    shape: Mapped[dict | None] = mapped_column(JSONB)
