"""The patrol log: plan a patrol, record it as done (or cancel it), list and filter patrols, the
team leader's week, and the planners' activity map.

A leader plans and records for their own team; a commune officer sees and corrects their
commune's patrols; the city admin sees all. Everything is scoped where it is queried
(portal.patrols.queries), so another team's patrol id finds nothing. Times are entered and shown
in Vietnam's time; an end at or before the start is the next day's (a night patrol).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import defer

from geo import maps
from geo.duty import LOCAL  # Vietnam's time, in which days begin and end
from portal import audit, mapping
from portal.decisions import parse_date
from portal.errors import BadParameter, FormInvalid, NotFound
from portal.extensions import db
from portal.i18n import N_, _, format_date, format_day_month, label
from portal.inputs import to_id
from portal.models import (
    VIOLATION_KINDS,
    Area,
    Incident,
    Member,
    Patrol,
    PatrolFinding,
    PatrolMember,
    PatrolRoute,
    PatrolStatus,
    PatrolTrack,
    RouteVersion,
    Team,
)
from portal.pagination import Page, paginate
from portal.patrols import queries, routes
from portal.patrols.queries import PatrolFilter
from portal.security import current_account, current_scope
from portal.teams import management
from portal.text import nfc

MAX_HOURS = 24  # one patrol, one day and night at most
MAX_COUNT = 999
PAST_DAYS = 366  # how far back a patrol may be planned (recording what was not planned)
AHEAD_DAYS = 92

STATUS_LABELS = {
    "planned": N_("Đã lên kế hoạch"),
    "done": N_("Đã tuần tra"),
    "cancelled": N_("Đã hủy"),
}
VIOLATION_LABELS = {
    "public_order": N_("Gây rối trật tự công cộng"),
    "traffic": N_("Vi phạm trật tự, an toàn giao thông"),
    "theft": N_("Trộm cắp tài sản"),
    "drugs": N_("Ma túy"),
    "gambling": N_("Cờ bạc"),
    "fire_safety": N_("Vi phạm phòng cháy, chữa cháy"),
    "residence": N_("Vi phạm quy định cư trú"),
    "sidewalk": N_("Lấn chiếm vỉa hè, lòng đường"),
    "other": N_("Vi phạm khác"),
}


audit.VALUE_LABELS[("patrol", "status")] = STATUS_LABELS
audit.VALUE_LABELS[("patrol_finding", "kind")] = VIOLATION_LABELS


def status_label(status: str) -> str:
    return label(STATUS_LABELS, status)


def violation_label(kind: str) -> str:
    return label(VIOLATION_LABELS, kind)


def now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return now().astimezone(LOCAL).date()


def local(value: datetime | None) -> datetime | None:
    return value.astimezone(LOCAL) if value else None


def week_of(day: date) -> tuple[date, date]:
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def month_of(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


# --- reading forms ----------------------------------------------------------------------------


def _date(value: str, field_name: str, errors: dict) -> date | None:
    parsed = parse_date((value or "").strip())
    if parsed is None:
        errors[field_name] = _("Nhập ngày (ngày/tháng/năm).")
    return parsed


def _time(value: str, field_name: str, errors: dict) -> time | None:
    try:
        parsed = time.fromisoformat((value or "").strip())
    except ValueError:
        errors[field_name] = _("Nhập giờ dạng 21:30.")
        return None
    return parsed.replace(second=0, microsecond=0, tzinfo=None)


def period(day: date | None, start: time | None, end: time | None) -> tuple[datetime, datetime]:
    """Start and end in Vietnam's time; an end at or before the start is on the next day."""
    begin = datetime.combine(day, start, tzinfo=LOCAL)
    finish = datetime.combine(day, end, tzinfo=LOCAL)
    if finish <= begin:
        finish += timedelta(days=1)
    return begin, finish


def _count(value: str, field_name: str, errors: dict) -> int:
    text = (value or "").strip()
    if not text:
        return 0
    # digits only, and few of them before they are read as a number
    if not text.isascii() or not text.isdigit() or len(text) > 3 or int(text) > MAX_COUNT:
        errors[field_name] = _("Nhập một số từ 0 đến {max}.", max=MAX_COUNT)
        return 0
    return int(text)


def _note(value: str, field_name: str, errors: dict, limit: int = 2000) -> str | None:
    text = nfc(value or "").strip()
    if len(text) > limit:
        errors[field_name] = _("Tối đa {n} ký tự.", n=limit)
    return text or None


@dataclass
class PlanForm:
    day: str = ""
    start: str = ""
    end: str = ""
    route_id: str = ""
    member_ids: list[str] = field(default_factory=list)
    joint_police: bool = False
    notes: str = ""

    @classmethod
    def from_form(cls, form) -> PlanForm:
        return cls(
            day=form.get("day", ""),
            start=form.get("start", ""),
            end=form.get("end", ""),
            route_id=form.get("route_id", ""),
            member_ids=form.getlist("member_ids"),
            joint_police=form.get("joint_police") == "1",
            notes=form.get("notes", ""),
        )

    @classmethod
    def of(cls, patrol: Patrol, member_ids: list[int], route_id: int | None) -> PlanForm:
        start, end = local(patrol.planned_start), local(patrol.planned_end)
        return cls(
            day=patrol.day.isoformat(),
            start=start.strftime("%H:%M"),
            end=end.strftime("%H:%M"),
            route_id=str(route_id or ""),
            member_ids=[str(i) for i in member_ids],
            joint_police=patrol.joint_police,
            notes=patrol.notes or "",
        )


@dataclass
class RecordForm:
    day: str = ""
    start: str = ""
    end: str = ""
    went_ids: list[str] = field(default_factory=list)
    findings: dict[str, str] = field(default_factory=dict)
    handed_to_police: str = ""
    handover_note: str = ""
    joint_police: bool = False
    notes: str = ""

    @classmethod
    def from_form(cls, form) -> RecordForm:
        return cls(
            day=form.get("day", ""),
            start=form.get("start", ""),
            end=form.get("end", ""),
            went_ids=form.getlist("went_ids"),
            findings={kind: form.get(f"finding_{kind}", "") for kind in VIOLATION_KINDS},
            handed_to_police=form.get("handed_to_police", ""),
            handover_note=form.get("handover_note", ""),
            joint_police=form.get("joint_police") == "1",
            notes=form.get("notes", ""),
        )

    @classmethod
    def of(cls, patrol: Patrol, went: list[int], findings: dict[str, int]) -> RecordForm:
        """The form as the patrol stands: planned times and members for a first record."""
        start = local(patrol.started_at or patrol.planned_start)
        end = local(patrol.ended_at or patrol.planned_end)
        return cls(
            day=start.date().isoformat(),
            start=start.strftime("%H:%M"),
            end=end.strftime("%H:%M"),
            went_ids=[str(i) for i in went],
            findings={k: str(v) for k, v in findings.items()},
            handed_to_police=str(patrol.handed_to_police or ""),
            handover_note=patrol.handover_note or "",
            joint_police=patrol.joint_police,
            notes=patrol.notes or "",
        )


# --- the team, its members and routes ---------------------------------------------------------


def serving_members(team: Team, on: date | None = None) -> list[Member]:
    """Members serving on a day (today by default): appointed by then, not left before."""
    on = on or today()
    query = select(Member).where(
        Member.team_id == team.id,
        Member.appointment_date <= on,
        (Member.left_on.is_(None)) | (Member.left_on > on),
    )
    members = list(db.session.scalars(query))
    order = {"leader": 0, "deputy": 1}
    return sorted(members, key=lambda m: (order.get(m.role, 2), m.full_name))


def _members(team: Team, ids: list[str], field_name: str, errors: dict, on: date) -> list[int]:
    chosen = []
    for text in ids:
        number = to_id(text)
        if number is None:
            errors[field_name] = _("Chọn thành viên trong danh sách.")
            return []
        chosen.append(number)
    serving = {m.id for m in serving_members(team, on)}
    if any(i not in serving for i in chosen):
        errors[field_name] = _("Chỉ chọn được thành viên của tổ đang làm nhiệm vụ ngày đó.")
        return []
    return list(dict.fromkeys(chosen))


def _route_version(team: Team, text: str, errors: dict) -> int | None:
    """The current version of one of the team's routes in use; none chosen is allowed."""
    if not (text or "").strip():
        return None
    number = to_id(text)
    route = None
    if number is not None:
        route = db.session.scalar(
            select(PatrolRoute).where(
                PatrolRoute.id == number,
                PatrolRoute.team_id == team.id,
                PatrolRoute.retired_at.is_(None),
            )
        )
    if route is None:
        errors["route_id"] = _("Chọn một tuyến đang dùng của tổ.")
        return None
    return route.current_version_id


def team_routes(team: Team) -> list[PatrolRoute]:
    return [r for r, _v in db.session.execute(queries.routes(current_scope(), team.id)).all()]


# --- plan, record, cancel ---------------------------------------------------------------------


def _patrol(patrol_id: int, *, for_update: bool = False) -> Patrol:
    query = queries.patrol(current_scope(), patrol_id)
    if for_update:
        query = query.with_for_update()
    patrol = db.session.scalar(query)
    if patrol is None:
        raise NotFound(_("Không tìm thấy ca tuần tra số {id}.", id=patrol_id))
    return patrol


def writable_patrol(patrol_id: int) -> tuple[Patrol, Team]:
    """A patrol the user may change: its team's leader, its commune's officer, the admin."""
    patrol = _patrol(patrol_id, for_update=True)
    return patrol, management.managed_team(patrol.team_id)


def _check_plan(team: Team, form: PlanForm) -> tuple[dict, dict]:
    errors: dict[str, str] = {}
    day = _date(form.day, "day", errors)
    start = _time(form.start, "start", errors)
    end = _time(form.end, "end", errors)
    values: dict = {}
    if day and not (today() - timedelta(days=PAST_DAYS) <= day <= today() + timedelta(AHEAD_DAYS)):
        errors["day"] = _("Ngày tuần tra phải trong khoảng một năm trước đến ba tháng tới.")
    if day and start and end:
        values["planned_start"], values["planned_end"] = period(day, start, end)
        values["day"] = day
    values["route_version_id"] = _route_version(team, form.route_id, errors)
    values["member_ids"] = _members(team, form.member_ids, "member_ids", errors, day or today())
    if not values["member_ids"] and "member_ids" not in errors:
        errors["member_ids"] = _("Chọn ít nhất một thành viên trực.")
    values["notes"] = _note(form.notes, "notes", errors)
    values["joint_police"] = form.joint_police
    return values, errors


def plan_patrol(team_id: int, form: PlanForm) -> Patrol:
    team = routes.writable_team(team_id)
    values, errors = _check_plan(team, form)
    if errors:
        raise FormInvalid(errors)
    member_ids = values.pop("member_ids")
    patrol = Patrol(
        team_id=team.id,
        commune_id=team.commune_id,
        status=PatrolStatus.PLANNED,
        violations=0,
        handed_to_police=0,
        **values,
    )
    db.session.add(patrol)
    db.session.flush()
    for member_id in member_ids:
        db.session.add(PatrolMember(patrol_id=patrol.id, member_id=member_id, planned=True))
    db.session.commit()
    return patrol


def update_plan(patrol_id: int, form: PlanForm) -> Patrol:
    patrol, team = writable_patrol(patrol_id)
    if patrol.status != PatrolStatus.PLANNED:
        raise FormInvalid({"status": _("Chỉ sửa được kế hoạch của ca chưa tuần tra.")})
    values, errors = _check_plan(team, form)
    if errors:
        raise FormInvalid(errors)
    member_ids = values.pop("member_ids")
    for key, value in values.items():
        setattr(patrol, key, value)
    _set_members(patrol, member_ids, planned=True)
    db.session.commit()
    return patrol


def _set_members(patrol: Patrol, member_ids: list[int], *, planned: bool) -> None:
    """Make the patrol's planned (or went) members exactly these, keeping the other flag."""
    rows = {
        row.member_id: row
        for row in db.session.scalars(
            select(PatrolMember).where(PatrolMember.patrol_id == patrol.id)
        )
    }
    wanted = set(member_ids)
    for member_id, row in rows.items():
        if planned:
            row.planned = member_id in wanted
        else:
            row.went = member_id in wanted
        if not row.planned and not row.went:
            db.session.delete(row)
    for member_id in wanted - rows.keys():
        db.session.add(
            PatrolMember(
                patrol_id=patrol.id, member_id=member_id, planned=planned, went=not planned
            )
        )


def record_patrol(patrol_id: int, form: RecordForm) -> Patrol:
    """Record a patrol as done (or correct its record): actual times, who went, what was found."""
    patrol, team = writable_patrol(patrol_id)
    if patrol.status == PatrolStatus.CANCELLED:
        raise FormInvalid({"status": _("Ca này đã hủy: khôi phục trước khi ghi kết quả.")})
    errors: dict[str, str] = {}
    day = _date(form.day, "day", errors)
    start = _time(form.start, "start", errors)
    end = _time(form.end, "end", errors)
    started = ended = None
    if day and abs((day - patrol.day).days) > 1:
        errors["day"] = _(
            "Ngày tuần tra thực tế phải trong vòng một ngày so với ngày kế hoạch {day}.",
            day=format_date(patrol.day),
        )
    elif day and start and end:
        started, ended = period(day, start, end)
        if ended > now() + timedelta(minutes=15):
            errors["end"] = _("Chưa thể ghi kết quả cho ca chưa kết thúc.")
        elif ended - started > timedelta(hours=MAX_HOURS):
            errors["end"] = _("Một ca tuần tra dài tối đa {n} giờ.", n=MAX_HOURS)
    went = _members(team, form.went_ids, "went_ids", errors, day or patrol.day)
    if not went and "went_ids" not in errors:
        errors["went_ids"] = _("Chọn những người đã đi tuần.")
    findings = {}
    for kind in VIOLATION_KINDS:
        count = _count(form.findings.get(kind, ""), f"finding_{kind}", errors)
        if count:
            findings[kind] = count
    handed = _count(form.handed_to_police, "handed_to_police", errors)
    handover_note = _note(form.handover_note, "handover_note", errors)
    notes = _note(form.notes, "notes", errors)
    if handed and not handover_note:
        errors["handover_note"] = _("Ghi rõ những vụ việc đã chuyển cho công an xã.")
    if errors:
        raise FormInvalid(errors)
    patrol.status = PatrolStatus.DONE
    patrol.started_at, patrol.ended_at = started, ended
    patrol.violations = sum(findings.values())
    patrol.handed_to_police = handed
    patrol.handover_note = handover_note
    patrol.notes = notes
    patrol.joint_police = form.joint_police
    patrol.recorded_at = now()
    _set_members(patrol, went, planned=False)
    existing = {
        f.kind: f
        for f in db.session.scalars(
            select(PatrolFinding).where(PatrolFinding.patrol_id == patrol.id)
        )
    }
    for kind, row in existing.items():
        if kind not in findings:
            db.session.delete(row)
        elif row.count != findings[kind]:
            row.count = findings[kind]
    for kind, count in findings.items():
        if kind not in existing:
            db.session.add(PatrolFinding(patrol_id=patrol.id, kind=kind, count=count))
    db.session.commit()
    return patrol


def set_cancelled(patrol_id: int, cancelled: bool) -> Patrol:
    """Cancel a planned patrol, or restore a cancelled one to planned (the undo)."""
    patrol, _team = writable_patrol(patrol_id)
    if cancelled:
        if patrol.status != PatrolStatus.PLANNED:
            raise FormInvalid({"status": _("Chỉ hủy được ca chưa tuần tra.")})
        patrol.status = PatrolStatus.CANCELLED
    else:
        if patrol.status != PatrolStatus.CANCELLED:
            raise FormInvalid({"status": _("Ca này không bị hủy.")})
        patrol.status = PatrolStatus.PLANNED
    db.session.commit()
    return patrol


# --- pages ------------------------------------------------------------------------------------


@dataclass
class Filters:
    """A patrol list's filters as the page shows them (strings), and the query they make."""

    start: date
    end: date
    status: str = ""
    route_id: int | None = None
    team_id: int | None = None
    commune_id: int | None = None

    def query(self) -> PatrolFilter:
        return PatrolFilter(
            self.start,
            self.end,
            team_id=self.team_id,
            route_id=self.route_id,
            status=self.status or None,
            commune_id=self.commune_id,
        )

    def args(self) -> dict:
        """The filters as query-string arguments, for pagination links."""
        values = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        for key in ("status", "route_id", "team_id", "commune_id"):
            if getattr(self, key):
                values[key] = getattr(self, key)
        return values


def parse_filters(args) -> Filters:
    """Filters from the query string; a bad one is a 400 naming it."""
    first, last = month_of(today())
    start, end = first, last
    if args.get("from"):
        try:
            start = date.fromisoformat(args["from"])
        except ValueError:
            raise BadParameter("from", _("Ngày “từ” không đúng dạng.")) from None
    if args.get("to"):
        try:
            end = date.fromisoformat(args["to"])
        except ValueError:
            raise BadParameter("to", _("Ngày “đến” không đúng dạng.")) from None
    if end < start:
        raise BadParameter("to", _("Ngày “đến” phải sau ngày “từ”."))
    if (end - start).days > 366:
        raise BadParameter("to", _("Chọn một khoảng tối đa một năm."))
    status = args.get("status", "")
    if status and status not in PatrolStatus.ALL:
        raise BadParameter("status", _("Trạng thái không có trong danh sách."))
    ids = {}
    for key in ("route_id", "team_id", "commune_id"):
        text = args.get(key, "").strip()
        if text:
            ids[key] = to_id(text)
            if ids[key] is None:
                raise BadParameter(key, _("Giá trị không đúng."))
    return Filters(start, end, status, **ids)


@dataclass
class ListView:
    filters: Filters
    patrols: Page
    teams: list[Team]  # the team filter's choices (officers and the admin)
    routes: list[PatrolRoute]
    team: Team | None


def list_view(filters: Filters, page: int) -> ListView:
    scope = current_scope()
    account = current_account()
    team = None
    if scope.role == "team_leader":
        if filters.team_id not in (None, account.team_id):
            raise NotFound(_("Không tìm thấy tổ số {id}.", id=filters.team_id))
        filters.team_id = account.team_id
    # a filter naming what one may not see answers as its page would: not found
    if filters.commune_id and not db.session.scalar(
        scope.areas(select(Area.id).where(Area.id == filters.commune_id, Area.level == "commune"))
    ):
        raise NotFound(_("Không tìm thấy xã, phường số {id}.", id=filters.commune_id))
    if filters.route_id and db.session.scalar(queries.route(scope, filters.route_id)) is None:
        raise NotFound(_("Không tìm thấy tuyến tuần tra số {id}.", id=filters.route_id))
    if filters.team_id:
        team = db.session.scalar(scope.teams(select(Team).where(Team.id == filters.team_id)))
        if team is None:
            raise NotFound(_("Không tìm thấy tổ số {id}.", id=filters.team_id))
    patrols = paginate(queries.patrols(scope, filters.query()), page, rows=True)
    teams = []
    if scope.role == "commune_officer":
        teams = list(
            db.session.scalars(
                # the order they were set up in: "số 2" before "số 10", as names sort wrongly
                scope.teams(select(Team).where(Team.dissolved_on.is_(None))).order_by(Team.id)
            )
        )
    routes_ = []
    if team is not None:
        routes_ = [
            r for r, _v in db.session.execute(queries.routes(scope, team.id, retired=True)).all()
        ]
    return ListView(filters, patrols, teams, routes_, team)


@dataclass
class PatrolView:
    patrol: Patrol
    team: Team
    route: PatrolRoute | None
    version: RouteVersion | None
    members: list  # (Member, planned, went)
    findings: list[PatrolFinding]
    track: PatrolTrack | None
    map: maps.MapParts | None
    history: Page
    can_write: bool
    incidents: list = field(default_factory=list)  # recorded as found on this patrol


def patrol_view(patrol_id: int, history_page: int = 1) -> PatrolView:
    patrol = _patrol(patrol_id)
    team = db.session.get(Team, patrol.team_id)
    version = (
        db.session.get(RouteVersion, patrol.route_version_id) if patrol.route_version_id else None
    )
    route = db.session.get(PatrolRoute, version.route_id) if version else None
    members = [
        (row.Member, row.planned, row.went)
        for row in db.session.execute(queries.patrol_members([patrol.id]))
    ]
    findings = list(
        db.session.scalars(
            select(PatrolFinding)
            .where(PatrolFinding.patrol_id == patrol.id)
            .order_by(PatrolFinding.kind)
        )
    )
    track = db.session.get(PatrolTrack, patrol.id)
    return PatrolView(
        patrol=patrol,
        team=team,
        route=route,
        version=version,
        members=members,
        findings=findings,
        track=track,
        map=_patrol_map(team, version, track),
        history=paginate(audit.history("patrol", patrol.id), history_page),
        can_write=routes.can_write(team),
        incidents=list(
            db.session.scalars(
                current_scope()
                .incidents(select(Incident).where(Incident.patrol_id == patrol.id))
                .order_by(Incident.occurred_at)
            )
        ),
    )


def _geojson(column, key: str, value: int) -> dict | None:
    text = db.session.scalar(select(func.ST_AsGeoJSON(column, 6)).where(key == value))
    return json.loads(text) if text else None


def _patrol_map(team: Team, version: RouteVersion | None, track: PatrolTrack | None):
    layers = []
    if version is not None:
        layers.append(
            ("route", _("Tuyến"), _geojson(RouteVersion.geom, RouteVersion.id, version.id))
        )
    if track is not None:
        layers.append(
            (
                "track",
                _("Đường đi GPS"),
                _geojson(PatrolTrack.geom, PatrolTrack.patrol_id, track.patrol_id),
            )
        )
        off = _geojson(PatrolTrack.off_route, PatrolTrack.patrol_id, track.patrol_id)
        if off and off.get("coordinates"):
            layers.append(("off", _("Đoạn đi ra ngoài tuyến"), off))
    villages = routes.village_features(team, 0.00002)
    features = [f for _k, _n, f in layers if f] + [f["geometry"] for f in villages]
    bounds = routes.bounds_of([{"geometry": g} for g in features]) or routes.commune_bounds(team)
    m = mapping.new_map(bounds)
    maps.add_children(
        m, {"type": "FeatureCollection", "features": villages}, _("Địa bàn của tổ"), ["name"]
    )
    for kind, name, geometry in layers:
        if geometry:
            maps.add_line(
                m,
                {"type": "Feature", "geometry": geometry, "properties": {"label": name}},
                name,
                maps.LINE_STYLES[kind],
            )
    return mapping.render(m)


def parse_week(text: str) -> date | None:
    """A day of the week to show (?week=2026-11-23); none means this week."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadParameter("week", _("Ngày không đúng dạng năm-tháng-ngày.")) from None


@dataclass
class WeekDay:
    day: date
    patrols: list


@dataclass
class HomeView:
    team: Team
    commune: Area
    week: list[WeekDay]
    week_start: date
    week_end: date
    counts: dict[str, int]
    on_duty: list  # (Member, Patrol) today and tonight
    overdue: list[Patrol]
    todo: list[str]
    routes: list  # (PatrolRoute, RouteVersion, patrols in 30 days)
    map: maps.MapParts
    members: list[Member]


def home_view(week_start: date | None = None) -> HomeView:
    """The team leader's week: planned and done patrols, routes, who is on duty, what to do."""
    scope = current_scope()
    scope.require("team_leader")
    team = management.managed_team(current_account().team_id)
    commune = db.session.get(Area, team.commune_id, options=[defer(Area.geom)])
    start, end = week_of(week_start or today())
    rows = db.session.execute(
        queries.patrols(scope, PatrolFilter(start, end, team_id=team.id))
    ).all()
    by_day = {start + timedelta(days=i): [] for i in range(7)}
    for row in sorted(rows, key=lambda r: r.Patrol.planned_start):
        by_day[row.Patrol.day].append(row)
    counts = dict(db.session.execute(queries.counts_by_status(scope, team.id, start, end)).all())
    current = now()
    todays = [
        r.Patrol
        for r in db.session.execute(
            queries.patrols(
                scope, PatrolFilter(today() - timedelta(days=1), today(), team_id=team.id)
            )
        ).all()
        if r.Patrol.status != PatrolStatus.CANCELLED
        and r.Patrol.planned_end >= current - timedelta(hours=2)
    ]
    on_duty = []
    if todays:
        planned = db.session.execute(queries.patrol_members([p.id for p in todays])).all()
        by_id = {p.id: p for p in todays}
        on_duty = [(row.Member, by_id[row.patrol_id]) for row in planned if row.planned]
    overdue = list(db.session.scalars(queries.overdue(scope, team.id, current).limit(20)))
    members = serving_members(team)
    sizing = management.sizing_for(team.commune_id)
    todo = []
    if len(members) < sizing.min_members:
        todo.append(
            _(
                "Tổ có {n} thành viên, cần ít nhất {min}: đề nghị bổ nhiệm thêm.",
                n=len(members),
                min=sizing.min_members,
            )
        )
    if not any(m.role == "leader" for m in members):
        todo.append(_("Tổ chưa có tổ trưởng."))
    if overdue:
        todo.append(_("{n} ca tuần tra đã qua giờ nhưng chưa ghi kết quả.", n=len(overdue)))
    routes_ = db.session.execute(queries.routes(scope, team.id)).all()
    if not routes_:
        todo.append(_("Tổ chưa có tuyến tuần tra: hãy vẽ tuyến đầu tiên."))
    if not counts.get("planned") and not counts.get("done"):
        todo.append(_("Tuần này chưa có ca tuần tra nào."))
    use = dict(db.session.execute(queries.route_use(team.id, today() - timedelta(days=30))).all())
    route_rows = [(r, v, use.get(r.id, 0)) for r, v in routes_]
    return HomeView(
        team=team,
        commune=commune,
        week=[WeekDay(d, ps) for d, ps in by_day.items()],
        week_start=start,
        week_end=end,
        counts=counts,
        on_duty=on_duty,
        overdue=overdue,
        todo=todo,
        routes=route_rows,
        map=team_map(team, route_rows),
        members=members,
    )


def team_map(team: Team, route_rows: list) -> maps.MapParts:
    """A team's villages, its routes (with their use in 30 days) and its recent GPS tracks."""
    villages = routes.village_features(team, 0.00002)
    lines = []
    geometries = routes.line_geometries([version.id for _r, version, _n in route_rows])
    for number, (route, version, used) in enumerate(route_rows):
        lines.append(
            {
                "type": "Feature",
                "geometry": geometries[version.id],
                "properties": {
                    "label": _(
                        "{name}: {length}, {n} ca trong 30 ngày",
                        name=route.name,
                        length=routes.metres(version.length_m),
                        n=used,
                    ),
                    "colour": routes.ROUTE_COLOURS[number % len(routes.ROUTE_COLOURS)],
                },
            }
        )
    tracks = [
        {
            "type": "Feature",
            "geometry": json.loads(row.geojson),
            "properties": {"label": _("Đường đi GPS ngày {day}", day=format_day_month(row.day))},
        }
        for row in db.session.execute(queries.recent_tracks(team.id, today() - timedelta(days=30)))
    ]
    shapes = [f["geometry"] for f in villages + lines + tracks]
    bounds = routes.bounds_of([{"geometry": g} for g in shapes]) or routes.commune_bounds(team)
    m = mapping.new_map(bounds)
    maps.add_children(
        m, {"type": "FeatureCollection", "features": villages}, _("Địa bàn của tổ"), ["name"]
    )
    if lines:
        maps.add_lines(m, {"type": "FeatureCollection", "features": lines}, _("Tuyến tuần tra"))
    if tracks:
        maps.add_line(
            m,
            {"type": "FeatureCollection", "features": tracks},
            _("Đường đi GPS gần đây"),
            maps.LINE_STYLES["track"],
        )
    return mapping.render(m)


# --- the planners' activity map -----------------------------------------------------------------


@dataclass
class Months:
    """A period of whole months, first to last (each the first day of its month)."""

    first: date
    last: date

    @property
    def end_day(self) -> date:
        return month_of(self.last)[1]

    @property
    def count(self) -> int:
        return (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1

    def args(self) -> dict:
        return {"from": self.first.strftime("%Y-%m"), "to": self.last.strftime("%Y-%m")}


def _month(text: str, name: str) -> date:
    try:
        if len(text) != 7 or text[4] != "-":
            raise ValueError(text)
        return date(int(text[:4]), int(text[5:]), 1)
    except ValueError:
        raise BadParameter(name, _("Tháng phải có dạng năm-tháng, ví dụ 2026-11.")) from None


def parse_months(args) -> Months:
    """A period of months from the query string (from=2026-01&to=2026-03); this month by default."""
    this = today().replace(day=1)
    first = _month(args["from"], "from") if args.get("from") else this
    last = _month(args["to"], "to") if args.get("to") else first if args.get("from") else this
    if last < first:
        raise BadParameter("to", _("Tháng “đến” phải sau tháng “từ”."))
    months = Months(first, last)
    if months.count > 24:
        raise BadParameter("to", _("Chọn một khoảng tối đa 24 tháng."))
    return months


# a village's activity class by its patrols a month: under LOW_BELOW (one a week) low, under
# MID_BELOW mid, else high (one a night or more); the vector tiles class in SQL by the same
LOW_BELOW, MID_BELOW = 4, 20


def level_of(patrols: int, months: int) -> str:
    """A village's activity class: none, low (under one patrol a week), mid, high (one a
    night or more)."""
    if patrols <= 0:
        return "none"
    per_month = patrols / months
    if per_month < LOW_BELOW:
        return "low"
    if per_month < MID_BELOW:
        return "mid"
    return "high"


ACTIVITY_LABELS = {
    "none": N_("Không có ca tuần tra"),
    "low": N_("Dưới 1 ca mỗi tuần"),
    "mid": N_("Từ 1 ca mỗi tuần"),
    "high": N_("Gần như mỗi đêm"),
}


CITY_LEVEL_LABELS = {
    "none": N_("Không thôn nào có tuần tra"),
    "low": N_("Dưới 80% thôn có tuần tra"),
    "mid": N_("Từ 80% thôn có tuần tra"),
    "high": N_("Từ 98% thôn có tuần tra"),
}


def activity_label(level: str, city: bool = False) -> str:
    return label(CITY_LEVEL_LABELS if city else ACTIVITY_LABELS, level)


@dataclass
class ActivityRow:
    id: int
    name: str
    patrols: int
    violations: int
    villages: int = 1
    patrolled: int = 0
    level: str = "none"


@dataclass
class ActivityView:
    months: Months
    commune: Area | None  # None: the whole city
    rows: Page  # ActivityRow, the least patrolled first
    totals: dict
    map: maps.MapParts
    unpatrolled: int
    communes: list[Area] = field(default_factory=list)


def _activity_scope(commune_id: int | None) -> Area | None:
    scope = current_scope()
    scope.require("admin", "commune_officer")
    if scope.role == "commune_officer" and commune_id is None:
        commune_id = scope.commune_id
    if commune_id is None:
        return None
    commune = db.session.scalar(
        scope.areas(select(Area).where(Area.id == commune_id, Area.level == "commune")).options(
            defer(Area.geom)
        )
    )
    if commune is None:
        raise NotFound(_("Không tìm thấy xã, phường số {id}.", id=commune_id))
    return commune


def activity_view(commune_id: int | None, months: Months, page: int = 1) -> ActivityView:
    """Done patrols per village of a commune (or per commune of the city) over months, from the
    stored activity, with the villages nobody patrolled shown as such."""
    commune = _activity_scope(commune_id)
    if commune is None:
        return _city_activity(months, page)
    counts = {
        row.area_id: row
        for row in db.session.execute(
            queries.activity_by_village(commune.id, months.first, months.last)
        )
    }
    villages = queries.current_villages(commune.id).with_only_columns(Area.id)
    shapes = db.session.execute(queries.display_shapes(villages, 0.00003)).all()
    rows, features = [], []
    for shape in shapes:
        found = counts.get(shape.id)
        patrols = int(found.patrols) if found else 0
        violations = int(found.violations) if found else 0
        level = level_of(patrols, months.count)
        rows.append(
            ActivityRow(shape.id, shape.name, patrols, violations, 1, int(patrols > 0), level)
        )
        features.append(
            {
                "type": "Feature",
                "geometry": json.loads(shape.geojson),
                "properties": {
                    "status": level,
                    "label": _(
                        "{name}: {n} ca, {v} vi phạm", name=shape.name, n=patrols, v=violations
                    ),
                },
            }
        )
    rows.sort(key=lambda r: (r.patrols, r.name))
    bounds = routes.bounds_of(features) or (105.3, 20.5, 106.1, 21.4)
    m = mapping.new_map(bounds)
    maps.add_status_layer(
        m,
        {"type": "FeatureCollection", "features": features},
        _("Thôn, tổ dân phố"),
        maps.ACTIVITY_STYLES,
    )
    unpatrolled = sum(1 for r in rows if r.patrols == 0)
    return ActivityView(
        months=months,
        commune=commune,
        rows=_page(rows, page),
        totals=_totals(rows),
        map=mapping.render(m),
        unpatrolled=unpatrolled,
    )


def _page(rows: list, page: int, per_page: int = 50) -> Page:
    page = max(page, 1)
    return Page(rows[(page - 1) * per_page : page * per_page], page, per_page, len(rows))


def _totals(rows: list[ActivityRow]) -> dict:
    return {
        "patrols": sum(r.patrols for r in rows),
        "violations": sum(r.violations for r in rows),
        "villages": sum(r.villages for r in rows),
        "patrolled": sum(r.patrolled for r in rows),
    }


CITY_TOLERANCE = 0.001  # about 100 m: a pixel of a city map


_CITY_SHAPES: dict[tuple, tuple] = {}
_CITY_SHAPES_LOCK = threading.Lock()


def _city_shapes() -> tuple[list, tuple]:
    """The current communes' outlines simplified at the city's scale, kept by the worker until
    a commune changes: simplifying them on every request cost a hundred milliseconds."""
    key = tuple(
        db.session.execute(
            select(func.count(), func.max(Area.updated_at), func.max(Area.id)).where(
                Area.level == "commune", Area.valid_to.is_(None)
            )
        ).one()
    )
    with _CITY_SHAPES_LOCK:
        shapes = _CITY_SHAPES.get(key)
    if shapes is None:
        communes = select(Area.id).where(Area.level == "commune", Area.valid_to.is_(None))
        rows = [
            (row.id, row.name, json.loads(row.geojson))
            for row in db.session.execute(queries.display_shapes(communes, CITY_TOLERANCE))
        ]
        box = routes.bounds_of([{"geometry": geometry} for _i, _n, geometry in rows])
        shapes = (rows, box or (105.3, 20.5, 106.1, 21.4))
        with _CITY_SHAPES_LOCK:
            _CITY_SHAPES.clear()  # one city: the latest outlines only
            _CITY_SHAPES[key] = shapes
    return shapes


def _city_activity(months: Months, page: int) -> ActivityView:
    counts = {
        row.commune_id: row
        for row in db.session.execute(queries.activity_by_commune(months.first, months.last))
    }
    village_counts = dict(
        db.session.execute(
            select(Area.parent_id, func.count())
            .where(Area.level == "village", Area.valid_to.is_(None))
            .group_by(Area.parent_id)
        ).all()
    )
    shapes, city_bounds = _city_shapes()
    rows, features = [], []
    for commune_id, name, geometry in shapes:
        found = counts.get(commune_id)
        villages = village_counts.get(commune_id, 0)
        patrolled = int(found.patrolled) if found else 0
        patrols = int(found.patrols) if found else 0
        violations = int(found.violations) if found else 0
        share = patrolled / villages if villages else 0
        level = (
            "none" if not patrolled else "low" if share < 0.8 else "mid" if share < 0.98 else "high"
        )
        rows.append(ActivityRow(commune_id, name, patrols, violations, villages, patrolled, level))
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "status": level,
                    "label": _(
                        "{name}: {n} ca; {p}/{v} thôn, tổ dân phố có tuần tra",
                        name=name,
                        n=patrols,
                        p=patrolled,
                        v=villages,
                    ),
                },
            }
        )
    rows.sort(key=lambda r: (r.patrolled - r.villages, r.patrols, r.name))
    total_unpatrolled = sum(r.villages - r.patrolled for r in rows)
    m = mapping.new_map(city_bounds)
    maps.add_status_layer(
        m,
        {"type": "FeatureCollection", "features": features},
        _("Xã, phường"),
        maps.ACTIVITY_STYLES,
    )
    # over the communes, every village by its own activity, from vector tiles (portal.tiles)
    maps.add_vector_tiles(
        m,
        mapping.tiles_url("patrols", **months.args()),
        "patrols",
        maps.ACTIVITY_STYLES,
        _("{name}: {n} ca, {v} vi phạm", name="{name}", n="{n}", v="{v}"),
        {level: activity_label(level) for level in ACTIVITY_LABELS},
        [maps.TileLink(mapping.url_pattern("areas.show", {"area_id": "{id}"}), _("Mở địa bàn"))],
    )
    return ActivityView(
        months=months,
        commune=None,
        rows=_page(rows, page),
        totals=_totals(rows),
        map=mapping.render(m, ("vectorgrid",)),
        unpatrolled=total_unpatrolled,
    )


WEEKDAYS = (
    N_("Thứ Hai"),
    N_("Thứ Ba"),
    N_("Thứ Tư"),
    N_("Thứ Năm"),
    N_("Thứ Sáu"),
    N_("Thứ Bảy"),
    N_("Chủ nhật"),
)


def weekday_label(day: date) -> str:
    return _(WEEKDAYS[day.weekday()])
