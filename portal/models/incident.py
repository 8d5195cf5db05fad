"""Incidents and tips: what citizens report through the portal and what teams record, placed in
their village, team and commune, and triaged by the commune's officers.

A reporter's contact and a tip's photo live in their own tables (tip_contacts, incident_photos):
no query over incidents can carry them by accident, and only the commune officers' service reads
the contact. No address of a reporter is stored: tip_limits holds keyed hashes, for the abuse
limits only, and forgets them after a day. A contact is deleted CONTACT_RETENTION_MONTHS after
its tip came (portal.retention); the incident keeps has_contact, so its page can say so.
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class Source:
    TIP = "tip"  # a citizen's tip, through the form or the API
    TEAM = "team"  # recorded by a team: found on a patrol or reported to them
    ALL = (TIP, TEAM)


# What a citizen can report (the form's short list); labels in portal.incidents.kinds.
TIP_KINDS = (
    "theft",
    "disorder",
    "drugs",
    "gambling",
    "traffic",
    "fire_risk",
    "suspicious",
    "other",
)
# What a team records.
TEAM_KINDS = ("violation", "fire", "rescue", "accident", "dispute")
INCIDENT_KINDS = TIP_KINDS + TEAM_KINDS


class Status:
    """The triage steps: received → checked → valuable or not valuable → passed to the police
    (with the case reference) → closed."""

    RECEIVED = "received"
    CHECKED = "checked"
    VALUABLE = "valuable"
    NOT_VALUABLE = "not_valuable"
    PASSED = "passed"
    CLOSED = "closed"
    ALL = (RECEIVED, CHECKED, VALUABLE, NOT_VALUABLE, PASSED, CLOSED)
    OPEN = (RECEIVED, CHECKED, VALUABLE)  # still waiting for an officer


class LocatedBy:
    MAP = "map"  # a pin placed on the map
    GPS = "gps"  # the phone's location
    VILLAGE = "village"  # a village chosen from the list: a point inside it
    ALL = (MAP, GPS, VILLAGE)


class Incident(db.Model):
    """A tip or a team's incident, with where and when, and its triage state."""

    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint("source IN ('tip', 'team')", name="source"),
        CheckConstraint(
            "status IN ('received', 'checked', 'valuable', 'not_valuable', 'passed', 'closed')",
            name="status",
        ),
        CheckConstraint("located_by IN ('map', 'gps', 'village')", name="located_by"),
        CheckConstraint("source <> 'tip' OR receipt IS NOT NULL", name="tip_receipt"),
        CheckConstraint("kind <> 'violation' OR violation_kind IS NOT NULL", name="violation"),
        CheckConstraint("status <> 'passed' OR case_ref IS NOT NULL", name="passed_case"),
        CheckConstraint("merged_into_id IS NULL OR merged_into_id <> id", name="merge_self"),
        # the commune's queue, newest first; the city's period; a village's and a team's items
        Index("ix_incidents_commune_received", "commune_id", "received_at"),
        Index("ix_incidents_occurred", "occurred_at"),
        Index("ix_incidents_received", "received_at"),  # the city's queue, newest first
        Index("ix_incidents_area_occurred", "area_id", "occurred_at"),
        Index("ix_incidents_team_occurred", "team_id", "occurred_at"),
        Index("ix_incidents_patrol", "patrol_id"),
        Index("ix_incidents_geom", "geom", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(20))
    violation_kind: Mapped[str | None] = mapped_column(String(20))  # portal.models.VIOLATION_KINDS
    receipt: Mapped[str | None] = mapped_column(String(16), unique=True)
    status: Mapped[str] = mapped_column(String(15), default=Status.RECEIVED)
    status_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    valuable: Mapped[bool | None] = mapped_column(Boolean)  # kept after the item is closed
    case_ref: Mapped[str | None] = mapped_column(String(60))  # the police's case reference
    passed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # to the police
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    description: Mapped[str] = mapped_column(Text)
    place_note: Mapped[str | None] = mapped_column(String(200))  # "số 12 ngõ 5", a landmark
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    located_by: Mapped[str] = mapped_column(String(10))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))  # the village
    commune_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    patrol_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("patrols.id", ondelete="SET NULL")
    )
    action_taken: Mapped[str | None] = mapped_column(Text)  # what the team did
    handed_to_police: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_by: Mapped[str | None] = mapped_column(String(120))  # the account, for team items
    merged_into_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("incidents.id"))
    has_photo: Mapped[bool] = mapped_column(Boolean, default=False)
    has_contact: Mapped[bool] = mapped_column(Boolean, default=False)


class TipContact(db.Model):
    """How a reporter asked to be contacted: read only by their commune's officers."""

    __tablename__ = "tip_contacts"

    incident_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str | None] = mapped_column(String(120))
    contact: Mapped[str] = mapped_column(String(200))  # a phone number or an e-mail address
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class IncidentPhoto(db.Model):
    """A tip's photo as we re-encoded it (JPEG, no metadata), never the bytes that were sent."""

    __tablename__ = "incident_photos"

    incident_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)


class TipLimit(db.Model):
    """One tip counted against a keyed hash of an address or a device, for the abuse limits;
    rows older than a day are deleted as new ones come, and every night (portal.retention)."""

    __tablename__ = "tip_limits"
    __table_args__ = (Index("ix_tip_limits_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[bytes] = mapped_column(LargeBinary)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
