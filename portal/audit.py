"""Every change to areas, teams, members and accounts is written to the audit log.

One listener on SQLAlchemy's after_flush sees every ORM change, whichever feature made it, so
no view or service can forget to log. Bulk INSERT statements (the demo loader) bypass the ORM
and are not logged row by row.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal

import shapely
from flask import g, has_request_context, request
from geoalchemy2.elements import WKBElement
from geoalchemy2.shape import to_shape
from sqlalchemy import event, insert, inspect, literal, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ClauseElement

from portal.extensions import db
from portal.i18n import N_, _, decimal, format_date, format_datetime, label
from portal.models import (
    Account,
    ApiToken,
    Area,
    AuditEntry,
    Member,
    Patrol,
    PatrolFinding,
    PatrolMember,
    PatrolRoute,
    PatrolRules,
    PatrolTrack,
    PoliceContact,
    RouteVersion,
    SizingRule,
    Team,
    TeamArea,
)

# entity type and the page (owner) whose history shows it
AUDITED = {
    Area: ("area", lambda o: ("area", o.id)),
    Team: ("team", lambda o: ("team", o.id)),
    TeamArea: ("team_area", lambda o: ("team", o.team_id)),
    Member: ("member", lambda o: ("team", o.team_id)),
    Account: ("account", lambda o: ("account", o.id)),
    SizingRule: ("sizing_rule", lambda o: ("area", o.province_id)),
    PoliceContact: ("police_contact", lambda o: ("area", o.commune_id)),
    PatrolRules: ("patrol_rules", lambda o: ("area", o.province_id)),
    PatrolRoute: ("route", lambda o: ("route", o.id)),
    RouteVersion: ("route_version", lambda o: ("route", o.route_id)),
    Patrol: ("patrol", lambda o: ("patrol", o.id)),
    PatrolMember: ("patrol_member", lambda o: ("patrol", o.patrol_id)),
    PatrolFinding: ("patrol_finding", lambda o: ("patrol", o.patrol_id)),
    PatrolTrack: ("patrol_track", lambda o: ("patrol", o.patrol_id)),
    # issue 17: made and revoked on the account's history (the secret's hash hidden)
    ApiToken: ("api_token", lambda o: ("account", o.account_id)),
}
# has_contact and receipt: whether a reporter left a contact, and the code they follow their tip
# with, are for the commune's officers only, and an item's history is shown to team leaders too
NOT_LOGGED = {
    "created_at",
    "updated_at",
    "name_search",
    "last_login_at",
    "last_used_at",
    "account_id",  # an API token's: logged on that account's own history already
    "has_contact",
    "receipt",
}
SECRET = {"password_hash", "token_hash"}
HIDDEN = "[ẩn]"

# who acts outside a request: the CLI sets this (e.g. "cli"), tests may too
cli_actor: ContextVar[str] = ContextVar("cli_actor", default="system")


def _value(value):
    """A JSON-safe value for the log; geometry as its shape's summary, not its coordinates."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, WKBElement):
        shape = to_shape(value)
        return {
            "type": shape.geom_type,
            "vertices": int(shapely.get_num_coordinates(shape)),
            "bbox": [round(v, 6) for v in shape.bounds],
        }
    if isinstance(value, ClauseElement):
        return None  # a server-side expression such as now(): its value is not known here
    return str(value)


def _columns(obj):
    return [c.key for c in inspect(obj).mapper.column_attrs if c.key not in NOT_LOGGED]


def _changes(obj, action: str) -> dict:
    state = inspect(obj)
    changes = {}
    for key in _columns(obj):
        if action == "update":
            history = state.attrs[key].history
            if not history.has_changes():
                continue
            before = history.deleted[0] if history.deleted else None
            after = history.added[0] if history.added else None
            if isinstance(after, ClauseElement):
                continue
        else:
            value = getattr(obj, key)
            before, after = (None, value) if action == "create" else (value, None)
            if value is None:
                continue
        if key in SECRET:
            before = HIDDEN if before is not None else None
            after = HIDDEN if after is not None else None
        changes[key] = [_value(before), _value(after)]
    return changes


def _actor() -> tuple[int | None, str, str | None]:
    if has_request_context():
        account = g.get("account")
        if account is not None:
            return account.id, account.username, request.remote_addr
        # an anonymous write is a citizen's tip: no address of a reporter is ever stored
        return None, "anonymous", None
    return None, cli_actor.get(), None


def _after_flush(session: Session, _flush_context) -> None:
    entries = []
    for action, objects in (
        ("create", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objects:
            audited = AUDITED.get(type(obj))
            if audited is None:
                continue
            if action == "update" and not session.is_modified(obj, include_collections=False):
                continue
            changes = _changes(obj, action)
            if action == "update" and not changes:
                continue
            entity_type, owner = audited
            owner_type, owner_id = owner(obj)
            entries.append(
                {
                    "action": action,
                    "entity_type": entity_type,
                    # rows keyed by their patrol (members, findings, a track) log under it
                    "entity_id": getattr(obj, "id", owner_id),
                    "owner_type": owner_type,
                    "owner_id": owner_id,
                    "changes": changes,
                }
            )
    if entries:
        actor_id, actor, ip = _actor()
        for entry in entries:
            entry.update(actor_id=actor_id, actor=actor, ip=ip)
        session.connection().execute(insert(AuditEntry), entries)


def history(owner_type: str, owner_id: int):
    """The log entries shown on an entity's page, newest first (a select() to execute)."""
    return (
        select(AuditEntry)
        .where(AuditEntry.owner_type == owner_type, AuditEntry.owner_id == owner_id)
        .order_by(AuditEntry.id.desc())
    )


# whole phrases, not a verb: English writes "Changed …" where the edit buttons say "Edit"
ACTION_LABELS = {"create": N_("Tạo {what}"), "update": N_("Sửa {what}"), "delete": N_("Xóa {what}")}
ENTITY_LABELS = {
    "area": N_("địa bàn"),
    "team": N_("tổ"),
    "team_area": N_("phạm vi phụ trách"),
    "member": N_("thành viên"),
    "account": N_("tài khoản"),
    "sizing_rule": N_("quy định số thành viên"),
    "police_contact": N_("liên hệ công an"),
    "patrol_rules": N_("quy định tuần tra"),
    "route": N_("tuyến tuần tra"),
    "route_version": N_("phiên bản tuyến"),
    "patrol": N_("ca tuần tra"),
    "patrol_member": N_("người trực"),
    "patrol_finding": N_("vi phạm phát hiện"),
    "patrol_track": N_("đường đi GPS"),
    "incident": N_("tin báo, sự việc"),
    "api_token": N_("mã truy cập API"),
}
FIELD_LABELS = {
    "id": N_("Mã số"),
    "name": N_("Tên"),
    "name_en": N_("Tên tiếng Anh"),
    "code": N_("Mã"),
    "kind": N_("Loại"),
    "level": N_("Cấp"),
    "parent_id": N_("Đơn vị cấp trên"),
    "geom": N_("Ranh giới"),
    "population": N_("Dân số"),
    "households": N_("Số hộ"),
    "valid_from": N_("Hiệu lực từ"),
    "valid_to": N_("Hiệu lực đến"),
    "decision_number": N_("Số quyết định"),
    "decision_date": N_("Ngày quyết định"),
    "username": N_("Tên đăng nhập"),
    "full_name": N_("Họ tên"),
    "password_hash": N_("Mật khẩu"),
    "role": N_("Vai trò"),
    "commune_id": N_("Xã, phường"),
    "team_id": N_("Tổ"),
    "is_active": N_("Đang hoạt động"),
    "session_epoch": N_("Lượt đặt lại mật khẩu"),
    "phone": N_("Điện thoại"),
    "area_id": N_("Địa bàn"),
    "address": N_("Địa chỉ"),
    "day": N_("Ngày"),
    "planned_start": N_("Bắt đầu theo kế hoạch"),
    "planned_end": N_("Kết thúc theo kế hoạch"),
    "status": N_("Trạng thái"),
    "started_at": N_("Bắt đầu thực tế"),
    "ended_at": N_("Kết thúc thực tế"),
    "joint_police": N_("Cùng công an xã"),
    "violations": N_("Số vi phạm"),
    "handed_to_police": N_("Chuyển công an xã"),
    "handover_note": N_("Nội dung chuyển công an"),
    "notes": N_("Ghi chú"),
    "route_version_id": N_("Phiên bản tuyến"),
    "recorded_at": N_("Ghi kết quả lúc"),
    "member_id": N_("Thành viên"),
    "planned": N_("Trong kế hoạch"),
    "went": N_("Đã đi"),
    "count": N_("Số vụ"),
    "retired_at": N_("Thôi dùng lúc"),
    "current_version_id": N_("Phiên bản đang dùng"),
    "number": N_("Phiên bản"),
    "length_m": N_("Chiều dài (m)"),
    "outside_m": N_("Ra ngoài địa bàn (m)"),
    "area_ids": N_("Thôn, tổ dân phố đi qua"),
    "created_by": N_("Người vẽ"),
    "route_id": N_("Tuyến"),
    "patrol_id": N_("Ca tuần tra"),
    "source": N_("Nguồn"),
    "violation_kind": N_("Loại vi phạm"),
    "status_at": N_("Tình trạng từ"),
    "passed_at": N_("Chuyển công an lúc"),
    "valuable": N_("Có giá trị"),
    "case_ref": N_("Số hồ sơ công an"),
    "occurred_at": N_("Xảy ra lúc"),
    "received_at": N_("Nhận lúc"),
    "description": N_("Mô tả"),
    "place_note": N_("Địa chỉ nơi xảy ra"),
    "located_by": N_("Cách xác định vị trí"),
    "action_taken": N_("Tổ đã làm gì"),
    "recorded_by": N_("Người ghi"),
    "merged_into_id": N_("Gộp vào tin"),
    "has_photo": N_("Có ảnh"),
    # teams and members
    "established_on": N_("Ngày thành lập"),
    "dissolved_on": N_("Ngày giải thể"),
    "birth_date": N_("Ngày sinh"),
    "residence_area_id": N_("Nơi cư trú"),
    "resident_since": N_("Cư trú từ"),
    "education": N_("Trình độ học vấn"),
    "age_approval": N_("Chấp thuận về tuổi"),
    "appointment_number": N_("Số quyết định công nhận"),
    "appointment_date": N_("Ngày công nhận"),
    "appointment_signer": N_("Người ký quyết định"),
    "left_on": N_("Ngày thôi tham gia"),
    "left_decision": N_("Quyết định thôi tham gia"),
    # the city's rules
    "province_id": N_("Tỉnh, thành phố"),
    "min_members": N_("Số thành viên tối thiểu"),
    "max_members": N_("Số thành viên tối đa"),
    "max_deputies": N_("Số tổ phó tối đa"),
    "population_base": N_("Dân số chuẩn"),
    "population_step": N_("Dân số mỗi bậc thêm"),
    "route_tolerance_m": N_("Sai lệch cho phép so với tuyến (m)"),
    "duty_rule": N_("Cách tính thời gian trực"),
    "min_hours_per_day": N_("Số giờ trực tối thiểu mỗi ngày"),
    "night_start": N_("Ca đêm bắt đầu"),
    "night_end": N_("Ca đêm kết thúc"),
    "min_night_hours": N_("Số giờ trực đêm tối thiểu"),
    "max_per_month": N_("Số ca tối đa mỗi tháng"),
    # GPS tracks
    "points": N_("Số điểm GPS"),
    "followed_share": N_("Tỷ lệ đi đúng tuyến"),
    "off_route": N_("Đoạn đi ngoài tuyến"),
    "filename": N_("Tệp"),
    "uploaded_by": N_("Người tải lên"),
    "uploaded_at": N_("Tải lên lúc"),
    # API tokens
    "token_hash": N_("Mã truy cập"),
    "prefix": N_("Đầu mã"),
    "revoked_at": N_("Thu hồi lúc"),
}


# labels of coded values, by (entity type, field): features register theirs
VALUE_LABELS: dict[tuple[str, str], dict[str, str]] = {}


# fields holding the id of another row, shown by that row's name: which table it names
REFERENCES = {
    "parent_id": "area",
    "commune_id": "area",
    "area_id": "area",
    "residence_area_id": "area",
    "province_id": "area",
    "team_id": "team",
    "member_id": "member",
    "area_ids": "area",
}
# a field that names another table on one kind of row
ENTITY_REFERENCES: dict[tuple[str, str], str] = {}


def _reference(entity_type: str, field: str) -> str | None:
    return ENTITY_REFERENCES.get((entity_type, field)) or REFERENCES.get(field)


def referenced_names(entries) -> dict[tuple[str, int], str]:
    """The names of the areas, teams and members a page of history entries names by id, in
    one query for the page: {(table, id): name}."""
    wanted: dict[str, set[int]] = {"area": set(), "team": set(), "member": set()}
    for entry in entries:
        # the row an entry is about, named in its heading ("Sửa thành viên Phan Văn Vinh")
        if entry.entity_type in wanted and isinstance(entry.entity_id, int):
            wanted[entry.entity_type].add(entry.entity_id)
        for field, values in (entry.changes or {}).items():
            table = _reference(entry.entity_type, field)
            if table is None:
                continue
            for value in values:
                for one in value if isinstance(value, list) else [value]:
                    if isinstance(one, int) and not isinstance(one, bool):
                        wanted[table].add(one)
    parts = [
        select(literal(table).label("t"), model.id, getattr(model, column)).where(model.id.in_(ids))
        for table, model, column in (
            ("area", Area, "name"),
            ("team", Team, "name"),
            ("member", Member, "full_name"),
        )
        if (ids := sorted(wanted[table]))
    ]
    if not parts:
        return {}
    return {(t, i): name for t, i, name in db.session.execute(union_all(*parts))}


# ids of rows with no name to show (a patrol, a version): shown as numbers people can quote
NUMBERED = {"patrol_id", "route_id", "route_version_id", "current_version_id", "merged_into_id"}
SHARES = {"followed_share"}  # 0..1, read as a percentage
GEOMETRY_TYPES = {
    "Point": N_("Điểm"),
    "MultiPoint": N_("Điểm"),
    "LineString": N_("Đường"),
    "MultiLineString": N_("Đường"),
    "Polygon": N_("Vùng"),
    "MultiPolygon": N_("Vùng"),
}


def _display(value, entity_type: str = "", field: str = "", names: dict | None = None) -> str:
    if value is None:
        return "—"
    if field in NUMBERED and isinstance(value, int):
        return f"#{value}"
    if field == "phone" and isinstance(value, str) and value.isdigit():
        from portal.lookup.services import phone_text  # here: lookup imports the models

        return phone_text(value)  # grouped as on the team page and the citizen's card
    if field in SHARES and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{round(value * 100)}%"
    table = _reference(entity_type, field)
    if table and names is not None and isinstance(value, int | list):
        ids = value if isinstance(value, list) else [value]
        # a name not found (a row since deleted) keeps its number
        return ", ".join(names.get((table, i)) or f"#{i}" for i in ids)
    labels = VALUE_LABELS.get((entity_type, field))
    if labels and isinstance(value, str) and value in labels:
        return _(labels[value])
    if isinstance(value, bool):
        return _("Có") if value else _("Không")
    if isinstance(value, dict) and value.get("type") == "Point" and value.get("bbox"):
        return f"{value['bbox'][1]:.5f}, {value['bbox'][0]:.5f}"  # lat, lon
    if isinstance(value, float):
        return decimal(value, 2)  # 1.234,5 (1,234.5 in English)
    if isinstance(value, str) and len(value) == 8 and value[2:3] == ":" and value[5:6] == ":":
        return value[:5]  # a time of day (a night shift's start): hours and minutes
    if isinstance(value, dict) and "vertices" in value:
        kind = GEOMETRY_TYPES.get(value["type"])
        return _("{type}, {n} đỉnh", type=_(kind) if kind else value["type"], n=value["vertices"])
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-" and value[7:8] == "-":
        # dates and times are logged in ISO form: shown as people read them, in Vietnam's time
        try:
            if len(value) == 10:
                return format_date(date.fromisoformat(value))
            return format_datetime(datetime.fromisoformat(value))
        except (ValueError, OverflowError):  # shown as logged
            pass
    return str(value)


# a field that means something else on one kind of row (an incident's geom is a point)
ENTITY_FIELD_LABELS = {("incident", "geom"): N_("Vị trí")}


def _field_label(field: str, entity_type: str = "") -> str:
    found = ENTITY_FIELD_LABELS.get((entity_type, field)) or FIELD_LABELS.get(field)
    return _(found) if found else field


def _register_value_labels() -> None:
    """The coded values of the audited rows, by their features' own Vietnamese labels (imported
    here: those features import this module)."""
    from portal.accounts.services import ROLE_LABELS as ACCOUNT_ROLES
    from portal.areas.services import KIND_LABELS as AREA_KINDS
    from portal.patrols.services import STATUS_LABELS as PATROL_STATUS
    from portal.patrols.services import VIOLATION_LABELS
    from portal.teams.services import EDUCATION_LABELS, ROLE_LABELS

    VALUE_LABELS.update(
        {
            ("area", "level"): LEVEL_LABELS,
            ("area", "kind"): AREA_KINDS,
            ("member", "role"): ROLE_LABELS,
            ("member", "education"): EDUCATION_LABELS,
            ("account", "role"): {str(k): v for k, v in ACCOUNT_ROLES.items()},
            ("patrol_rules", "duty_rule"): DUTY_RULE_LABELS,
            ("patrol", "status"): PATROL_STATUS,
            ("patrol_finding", "kind"): VIOLATION_LABELS,
            ("incident", "violation_kind"): VIOLATION_LABELS,
        }
    )


LEVEL_LABELS = {
    "province": N_("Tỉnh, thành phố"),
    "district": N_("Quận, huyện"),
    "commune": N_("Xã, phường"),
    "village": N_("Thôn, tổ dân phố"),
}
DUTY_RULE_LABELS = {"daily_hours": N_("Số giờ mỗi ngày"), "night_shifts": N_("Ca đêm")}


def _action_label(action: str, what: str) -> str:
    """What an entry did to what: "Sửa thành viên" / "Changed member"."""
    if action not in ACTION_LABELS:
        return f"{action} {what}"
    return _(ACTION_LABELS[action], what=what)


def init_app(app) -> None:
    # on the Session class: every session the portal, the CLI or the tests open is covered
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
    _register_value_labels()
    app.jinja_env.globals.update(
        action_label=_action_label,
        entity_label=lambda e: label(ENTITY_LABELS, e),
        field_label=_field_label,
        audit_value=_display,
        audit_names=referenced_names,
        local_time=format_datetime,
    )
