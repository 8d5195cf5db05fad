"""Triage of tips and incidents, and the incidents teams record.

An officer moves an item through received → checked → valuable or not valuable → passed to the
police (with the case reference) → closed; every step is an ORM change, so the audit log says by
whom and when, and `undo` puts the step before back exactly. Possible duplicates (same kind,
within 200 m and 24 hours) are suggested on an item's page and can be merged and unmerged.

Reads and writes go through Scope.incidents: an id outside one's scope is not found. Only the
commune's officers read a reporter's contact (Scope.sees_contacts); team leaders see their
villages' items without it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from flask import current_app
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from portal import audit
from portal.errors import BadParameter, FormInvalid, NotFound
from portal.extensions import db
from portal.i18n import N_, _
from portal.incidents import filters as incident_filters
from portal.incidents import kinds, placement
from portal.incidents.filters import LOCAL_TZ, Filters, occurred_at
from portal.lookup import maps as lookup_maps
from portal.lookup import services as lookup
from portal.lookup.services import coordinate
from portal.models import (
    TEAM_KINDS,
    VIOLATION_KINDS,
    AccountRole,
    Area,
    AuditEntry,
    Incident,
    IncidentPhoto,
    LocatedBy,
    Patrol,
    PatrolStatus,
    Source,
    Status,
    Team,
    TeamArea,
    TipContact,
)
from portal.pagination import Page, paginate
from portal.security import current_account, current_scope

DUPLICATE_METRES = 200
DUPLICATE_HOURS = 24
CASE_REF_MAX = 60
# controls, format (bidi overrides, zero widths), unassigned, private; line/paragraph separators
CASE_REF_BAD = {"Cc", "Cf", "Cn", "Co", "Cs", "Zl", "Zp"}
RECORD_OLDEST_DAYS = 366  # a team records what it met this year, not history

# action → (the statuses it may follow, the status it leads to)
STEPS = {
    "check": ((Status.RECEIVED,), Status.CHECKED),
    "valuable": ((Status.CHECKED,), Status.VALUABLE),
    "not_valuable": ((Status.CHECKED,), Status.NOT_VALUABLE),
    "pass": ((Status.VALUABLE,), Status.PASSED),
    "close": ((Status.PASSED, Status.NOT_VALUABLE), Status.CLOSED),
}
STEP_LABELS = {  # the buttons: what the officer does
    "check": N_("Đánh dấu đã kiểm tra"),
    "valuable": N_("Đánh giá: có giá trị"),
    "not_valuable": N_("Đánh giá: không có giá trị"),
    "pass": N_("Chuyển công an"),
    "close": N_("Kết thúc xử lý"),
}

audit.AUDITED[Incident] = ("incident", lambda o: ("incident", o.id))
audit.VALUE_LABELS[("incident", "status")] = kinds.STATUS_LABELS
audit.VALUE_LABELS[("incident", "kind")] = kinds.KIND_LABELS
audit.VALUE_LABELS[("incident", "source")] = kinds.SOURCE_LABELS
audit.VALUE_LABELS[("incident", "located_by")] = kinds.LOCATED_LABELS


def step_label(action: str) -> str:
    return _(STEP_LABELS[action])


def can_triage() -> bool:
    """Triage is the commune police's work: its officers only."""
    return current_scope().role == AccountRole.COMMUNE_OFFICER


# --- reading ---------------------------------------------------------------------------------


def _get(incident_id: int, *, lock: bool = False) -> Incident:
    """An item in scope; with lock, its row locked until commit: two officers stepping or
    merging the same items at once go one after the other, each seeing the other's result."""
    query = current_scope().incidents(select(Incident).where(Incident.id == incident_id))
    if lock:
        query = query.with_for_update(of=Incident).execution_options(populate_existing=True)
    incident = db.session.scalar(query)
    if incident is None:
        raise NotFound(_("Không tìm thấy tin báo, sự việc số {id}.", id=incident_id))
    return incident


def queue_query(filters: Filters):
    """The items in scope and filters, newest first, with their village's and team's names."""
    village = aliased(Area)
    commune = aliased(Area)
    query = (
        select(
            Incident,
            village.name.label("village"),
            commune.name.label("commune"),
            Team.name.label("team"),
        )
        .outerjoin(village, village.id == Incident.area_id)
        .join(commune, commune.id == Incident.commune_id)
        .outerjoin(Team, Team.id == Incident.team_id)
        .order_by(Incident.received_at.desc(), Incident.id.desc())
    )
    return incident_filters.apply(current_scope().incidents(query), filters)


@dataclass
class QueueView:
    filters: Filters
    items: Page
    counts: dict[str, int]  # items by status in scope and period (the tabs)
    can_triage: bool
    can_record: bool
    communes: list = field(default_factory=list)  # the admin's commune filter


def queue(filters: Filters, page: int) -> QueueView:
    counted = incident_filters.apply(
        current_scope().incidents(select(Incident.status, func.count()).group_by(Incident.status)),
        replace(filters, statuses=(), open_only=False),  # every status: the tabs
    )
    counts = dict(db.session.execute(counted).all())
    communes = []
    if current_scope().is_admin:
        communes = db.session.execute(
            select(Area.id, Area.name)
            .where(Area.level == "commune", Area.valid_to.is_(None))
            .order_by(Area.name_search)
        ).all()
    # the counts by status cover the same items: the page's total is their sum, not a query
    shown = filters.statuses or (Status.OPEN if filters.open_only else Status.ALL)
    total = sum(counts.get(s, 0) for s in shown)
    return QueueView(
        filters,
        paginate(queue_query(filters), page, rows=True, total=total),
        counts,
        can_triage(),
        current_scope().role in (AccountRole.COMMUNE_OFFICER, AccountRole.TEAM_LEADER),
        communes,
    )


@dataclass
class ItemView:
    incident: Incident
    village: str | None
    commune: str
    team: str | None
    lat: float
    lon: float
    contact: TipContact | None  # only for the commune's officers
    # the contact left was deleted by the retention job (portal.retention) after these months
    contact_removed_months: int | None = None
    duplicates: list = field(default_factory=list)
    merged: list = field(default_factory=list)  # items merged into this one
    merged_into: Incident | None = None
    actions: list[str] = field(default_factory=list)
    can_triage: bool = False
    can_undo: bool = False
    history: Page | None = None
    patrol: Patrol | None = None


def item(incident_id: int, history_page: int = 1) -> ItemView:
    incident = _get(incident_id)
    scope = current_scope()
    row = db.session.execute(
        select(
            func.ST_Y(Incident.geom),
            func.ST_X(Incident.geom),
            select(Area.name).where(Area.id == Incident.area_id).scalar_subquery(),
            select(Area.name).where(Area.id == Incident.commune_id).scalar_subquery(),
            select(Team.name).where(Team.id == Incident.team_id).scalar_subquery(),
        ).where(Incident.id == incident.id)
    ).one()
    lat, lon, village, commune, team = row
    contact = db.session.get(TipContact, incident.id) if scope.sees_contacts else None
    removed = None
    if scope.sees_contacts and incident.has_contact and contact is None:
        removed = current_app.config["CONTACT_RETENTION_MONTHS"]
    triage = can_triage()
    actions = []
    if triage and incident.merged_into_id is None:
        actions = [a for a, (before, _after) in STEPS.items() if incident.status in before]
    return ItemView(
        incident=incident,
        village=village,
        commune=commune,
        team=team,
        lat=lat,
        lon=lon,
        contact=contact,
        contact_removed_months=removed,
        duplicates=duplicates(incident) if incident.merged_into_id is None else [],
        merged=list(
            db.session.scalars(
                scope.incidents(select(Incident).where(Incident.merged_into_id == incident.id))
            )
        ),
        merged_into=_get_or_none(incident.merged_into_id),
        actions=actions,
        can_triage=triage,
        can_undo=triage and incident.merged_into_id is None and _last_step(incident) is not None,
        history=paginate(audit.history("incident", incident.id), history_page),
        patrol=db.session.get(Patrol, incident.patrol_id) if incident.patrol_id else None,
    )


def _get_or_none(incident_id: int | None) -> Incident | None:
    if incident_id is None:
        return None
    return db.session.scalar(
        current_scope().incidents(select(Incident).where(Incident.id == incident_id))
    )


def duplicates_query(incident: Incident):
    """Items in scope of the same kind within 200 m and 24 hours of this one, nearest first."""
    other = aliased(Incident)
    here = func.Geography(select(Incident.geom).where(Incident.id == incident.id).scalar_subquery())
    distance = func.ST_Distance(func.Geography(other.geom), here)
    query = (
        select(other, distance.label("metres"))
        .where(
            other.id != incident.id,
            other.kind == incident.kind,
            other.merged_into_id.is_(None),
            other.occurred_at.between(
                incident.occurred_at - timedelta(hours=DUPLICATE_HOURS),
                incident.occurred_at + timedelta(hours=DUPLICATE_HOURS),
            ),
            func.ST_DWithin(func.Geography(other.geom), here, DUPLICATE_METRES),
        )
        .order_by(distance, other.id)
        .limit(20)
    )
    return current_scope().incidents(query, other)


def duplicates(incident: Incident) -> list:
    return db.session.execute(duplicates_query(incident)).all()


def photo(incident_id: int) -> bytes:
    """The re-encoded photo of an item in scope (staff only); NotFound when it has none."""
    incident = _get(incident_id)
    found = db.session.get(IncidentPhoto, incident.id)
    if found is None:
        raise NotFound(_("Tin báo này không có ảnh."))
    return found.data


# --- triage ----------------------------------------------------------------------------------


def _require_triage() -> None:
    if not can_triage():
        raise NotFound(_("Chỉ cán bộ công an xã, phường xử lý tin báo."))


def advance(incident_id: int, action: str, case_ref: str = "") -> Incident:
    """Take one triage step; FormInvalid when it cannot follow the item's status."""
    _require_triage()
    incident = _get(incident_id, lock=True)
    if action not in STEPS:
        raise FormInvalid({"action": _("Bước xử lý không có trong danh sách.")})
    before, after = STEPS[action]
    if incident.merged_into_id is not None:
        raise FormInvalid({"action": _("Tin này đã được gộp vào tin khác: xử lý ở tin đó.")})
    if incident.status not in before:
        raise FormInvalid(
            {
                "action": _(
                    "Tin đang ở bước “{status}”: không thể “{step}”.",
                    status=kinds.status_label(incident.status),
                    step=step_label(action),
                )
            }
        )
    if action == "pass":
        ref = case_ref.replace("\x00", "").strip()
        if not ref:
            raise FormInvalid({"case_ref": _("Nhập số hồ sơ, số thụ lý của công an.")})
        if len(ref) > CASE_REF_MAX:
            raise FormInvalid({"case_ref": _("Số hồ sơ dài quá {n} ký tự.", n=CASE_REF_MAX)})
        if any(unicodedata.category(ch) in CASE_REF_BAD for ch in ref):
            # line breaks and bidi overrides would make a reference read as another one
            raise FormInvalid({"case_ref": _("Số hồ sơ chỉ gồm chữ, số và dấu, trên một dòng.")})
        incident.case_ref = ref
    if action in ("valuable", "not_valuable"):
        incident.valuable = action == "valuable"
    incident.status = after
    incident.status_at = datetime.now(UTC)
    if action == "pass":
        incident.passed_at = incident.status_at  # the review's time from tip to hand-over
    db.session.commit()
    return incident


def _last_step(incident: Incident) -> AuditEntry | None:
    """The last triage step not yet undone, when the item still is as it left it."""
    entries = db.session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.entity_type == "incident",
            AuditEntry.entity_id == incident.id,
            AuditEntry.action == "update",
            AuditEntry.changes.has_key("status"),
        )
        .order_by(AuditEntry.id.desc())
    )
    undone = 0  # an undo is logged as a step backwards: it cancels the step before it
    for entry in entries:
        before, after = entry.changes["status"]
        if not any(before in b and after == a for b, a in STEPS.values()):
            undone += 1
        elif undone:
            undone -= 1
        else:
            return entry if after == incident.status else None
    return None


def undo(incident_id: int) -> Incident:
    """Put back what the last triage step changed (status, its time, value, case reference)."""
    _require_triage()
    incident = _get(incident_id, lock=True)
    if incident.merged_into_id is not None:  # as advance: a merged item is handled at its target
        raise FormInvalid({"action": _("Tin này đã được gộp vào tin khác: xử lý ở tin đó.")})
    entry = _last_step(incident)
    if entry is None:
        raise FormInvalid({"action": _("Không có bước nào để hoàn tác.")})
    for key in ("status", "valuable", "case_ref", "status_at", "passed_at"):
        if key in entry.changes:
            value = entry.changes[key][0]
            if key in ("status_at", "passed_at") and value is not None:
                value = datetime.fromisoformat(value)
            setattr(incident, key, value)
    db.session.commit()
    return incident


def merge(incident_id: int, into_id: int) -> Incident:
    """Merge a duplicate into another item in scope; its reporter then follows that item."""
    _require_triage()
    # both rows locked, the lower id first, so that A into B and B into A at once cannot both
    # pass their checks (a cycle) nor wait on each other for ever
    first, second = sorted((incident_id, into_id))
    locked = {first: _get(first, lock=True)}
    locked[second] = locked[first] if second == first else _get(second, lock=True)
    incident, target = locked[incident_id], locked[into_id]
    if target.id == incident.id:
        raise FormInvalid({"into": _("Không thể gộp một tin vào chính nó.")})
    if target.merged_into_id is not None:
        raise FormInvalid({"into": _("Tin đích đã được gộp vào tin khác.")})
    if incident.merged_into_id is not None:
        raise FormInvalid({"into": _("Tin này đã được gộp rồi.")})
    # what was merged into this one follows it to the new target: chains stay one step long
    for child in db.session.scalars(select(Incident).where(Incident.merged_into_id == incident.id)):
        child.merged_into_id = target.id
    incident.merged_into_id = target.id
    db.session.commit()
    return target


def unmerge(incident_id: int) -> Incident:
    """Take a merged item out again: it comes back to the queue as it was."""
    _require_triage()
    incident = _get(incident_id, lock=True)
    if incident.merged_into_id is None:
        raise FormInvalid({"into": _("Tin này chưa được gộp.")})
    incident.merged_into_id = None
    db.session.commit()
    return incident


# --- incidents recorded by teams -------------------------------------------------------------


@dataclass
class RecordForm:
    team_id: str = ""
    kind: str = ""
    violation_kind: str = ""
    occurred_at: str = ""
    lat: str = ""
    lon: str = ""
    located_by: str = ""
    village_id: str = ""
    place_note: str = ""
    description: str = ""
    action_taken: str = ""
    handed_to_police: bool = False
    patrol_id: str = ""

    @classmethod
    def from_form(cls, form) -> RecordForm:
        values = {k: form.get(k, "").replace("\x00", "").strip() for k in cls.__dataclass_fields__}
        values["handed_to_police"] = form.get("handed_to_police") == "1"
        return cls(**values)


@dataclass
class RecordPage:
    form: RecordForm
    teams: list[Team]
    villages: list
    patrols: list[Patrol]
    kinds: list[tuple[str, str]]
    violation_kinds: list[str]
    team: Team | None = None
    map: object = None  # the team's commune, to place a pin on


def record_page(form: RecordForm) -> RecordPage:
    """The form's choices: teams in scope, the chosen team's villages and recent patrols."""
    scope = current_scope()
    if scope.role not in (AccountRole.COMMUNE_OFFICER, AccountRole.TEAM_LEADER):
        raise NotFound(_("Chỉ tổ và cán bộ công an xã, phường ghi nhận sự việc."))
    teams = list(
        db.session.scalars(
            scope.teams(select(Team).where(Team.dissolved_on.is_(None))).order_by(Team.name)
        )
    )
    if not form.team_id and len(teams) == 1:
        form.team_id = str(teams[0].id)
    team = next((t for t in teams if str(t.id) == form.team_id), None)
    villages, patrols = [], []
    if team is not None:
        villages = db.session.execute(
            select(Area.id, Area.name)
            .join(TeamArea, TeamArea.area_id == Area.id)
            .where(TeamArea.team_id == team.id, TeamArea.active())
            .order_by(Area.name_search)
        ).all()
        since = datetime.now(LOCAL_TZ).date() - timedelta(days=14)
        patrols = list(
            db.session.scalars(
                select(Patrol)
                .where(Patrol.team_id == team.id, Patrol.day >= since)
                .where(Patrol.status != PatrolStatus.CANCELLED)
                .order_by(Patrol.day.desc(), Patrol.planned_start.desc())
            )
        )
    if not form.occurred_at:
        # from a patrol's page: during that patrol (its start), not the moment of typing
        patrol = next((p for p in patrols if str(p.id) == form.patrol_id), None)
        when = (patrol.started_at or patrol.planned_start) if patrol else datetime.now(UTC)
        form.occurred_at = when.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")
    return RecordPage(
        form, teams, villages, patrols, kinds.kind_choices(TEAM_KINDS), list(VIOLATION_KINDS), team
    )


def record_page_with_map(form: RecordForm) -> RecordPage:
    """The form's page, with the map of the chosen team's commune to place a pin on."""
    page = record_page(form)
    if page.team is not None:
        page.map = lookup_maps.for_card(lookup.for_area(page.team.commune_id))
    return page


def record(form: RecordForm) -> Incident:
    """Store an incident a team found or was told of; FormInvalid names every bad field."""
    page = record_page(form)
    errors: dict[str, str] = {}
    team = next((t for t in page.teams if str(t.id) == form.team_id), None)
    if team is None:
        errors["team_id"] = _("Chọn tổ trong danh sách.")
    if form.kind not in TEAM_KINDS:
        errors["kind"] = _("Chọn loại sự việc trong danh sách.")
    if form.kind == "violation" and form.violation_kind not in VIOLATION_KINDS:
        errors["violation_kind"] = _("Chọn loại vi phạm.")
    too_old = _("Việc xảy ra quá {n} ngày trước: không ghi nhận được.", n=RECORD_OLDEST_DAYS)
    # year 1 was once stored, and broke every page reading it (1 BC in UTC, overflows)
    when, problem = occurred_at(form.occurred_at, RECORD_OLDEST_DAYS, too_old)
    if problem:
        errors["occurred_at"] = problem
    if len(form.description) < 5:
        errors["description"] = _("Mô tả sự việc, ít nhất 5 ký tự.")
    elif len(form.description) > 2000:
        errors["description"] = _("Mô tả dài quá {n} ký tự.", n=2000)
    if len(form.action_taken) > 2000:
        errors["action_taken"] = _("Nội dung dài quá {n} ký tự.", n=2000)
    if len(form.place_note) > 200:
        errors["place_note"] = _("Địa chỉ, mô tả nơi xảy ra dài quá {n} ký tự.", n=200)
    patrol = None
    if form.patrol_id:
        patrol = next((p for p in page.patrols if str(p.id) == form.patrol_id), None)
        if patrol is None:
            errors["patrol_id"] = _("Chọn ca tuần tra của tổ trong danh sách.")
    where = None
    try:
        if form.lat and form.lon:
            where = placement.at_point(
                coordinate("lat", form.lat, 90), coordinate("lon", form.lon, 180)
            )
        elif form.village_id:
            if form.village_id not in {str(v.id) for v in page.villages}:
                raise placement.OutsideService(_("Chọn thôn, tổ dân phố của tổ trong danh sách."))
            where = placement.in_village(int(form.village_id))
        else:
            errors["where"] = _("Cho biết nơi xảy ra: chạm vào bản đồ hoặc chọn thôn, tổ dân phố.")
    except placement.OutsideService as exc:
        errors["where"] = str(exc)
    except BadParameter as exc:  # not a number, or off the globe
        errors["where"] = exc.message
    if where is not None and team is not None and where.commune_id != team.commune_id:
        # writes are scoped like reads: a team records what happens in its own commune
        errors["where"] = _("Nơi xảy ra nằm ngoài xã, phường của tổ.")
    if errors:
        raise FormInvalid(errors)
    incident = Incident(
        source=Source.TEAM,
        kind=form.kind,
        violation_kind=form.violation_kind if form.kind == "violation" else None,
        status=Status.RECEIVED,
        occurred_at=when,
        description=form.description,
        place_note=form.place_note or None,
        geom=from_shape(Point(where.lon, where.lat), srid=4326),
        located_by=LocatedBy.VILLAGE
        if not (form.lat and form.lon)
        else (form.located_by if form.located_by in (LocatedBy.MAP, LocatedBy.GPS) else "map"),
        area_id=where.village_id,
        commune_id=where.commune_id,
        team_id=team.id,
        patrol_id=patrol.id if patrol else None,
        action_taken=form.action_taken or None,
        handed_to_police=form.handed_to_police,
        recorded_by=current_account().username,
        has_photo=False,
        has_contact=False,
    )
    db.session.add(incident)
    db.session.commit()
    return incident
