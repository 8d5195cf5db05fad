"""Creating teams and keeping their members, under the law's rules (Law 30/2023, Art. 13-14;
Decree 40/2024): each rule failing gives a message on the field it concerns, and nothing changes.

Members who leave keep their record (left_on and the decision); moving to another team is a
departure and a new appointment, so both teams' history stays whole.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import load_only

from portal.coverage import services as coverage
from portal.decisions import decision_date, parse_date
from portal.errors import FormInvalid, NotFound
from portal.extensions import db
from portal.i18n import N_, _
from portal.inputs import to_id, too_long
from portal.models import Area, Member, SizingRule, Team, TeamArea
from portal.security import current_scope
from portal.teams.rules import HANOI, Sizing
from portal.text import fold, nfc

PHONE = re.compile(r"^0\d{9,10}$")
EDUCATION = ("primary", "lower_secondary", "upper_secondary", "higher")


def phone_problem(phone: str) -> str | None:
    if phone and not PHONE.match(phone):
        return _("Số điện thoại gồm 10 hoặc 11 chữ số, bắt đầu bằng 0.")
    return None


def _years_between(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def sizing_for(commune_id: int) -> Sizing:
    province_id = db.session.scalar(select(Area.parent_id).where(Area.id == commune_id))
    return sizing_of_province(province_id)


def sizing_of_province(province_id: int | None) -> Sizing:
    """The province's sizing rule (data); Hanoi's 3-5 where none is recorded."""
    rule = db.session.scalar(select(SizingRule).where(SizingRule.province_id == province_id))
    if rule is None:
        return HANOI
    return Sizing(
        rule.min_members,
        rule.max_members,
        rule.max_deputies,
        rule.population_base,
        rule.population_step,
    )


def covered_area_ids(team_id: int) -> list[int]:
    return list(
        db.session.scalars(
            select(TeamArea.area_id).where(TeamArea.team_id == team_id, TeamArea.active())
        )
    )


# --- teams ---------------------------------------------------------------------------------


@dataclass
class TeamForm:
    name: str = ""
    commune_id: int | None = None
    area_ids: list[int] = field(default_factory=list)
    phone: str = ""
    decision_number: str = ""
    decision_date: str = ""

    @classmethod
    def of(cls, team: Team) -> TeamForm:
        return cls(
            team.name,
            team.commune_id,
            covered_area_ids(team.id),
            team.phone or "",
            team.decision_number or "",
            team.decision_date.isoformat() if team.decision_date else "",
        )

    @classmethod
    def from_form(cls, form) -> TeamForm:
        return cls(
            nfc(form.get("name", "")),
            to_id(form.get("commune_id")),
            # an id no area can have stays, as 0, so that the check names the field
            [to_id(v) or 0 for v in form.getlist("area_ids") if v.strip()],
            form.get("phone", "").replace(" ", ""),
            nfc(form.get("decision_number", "")),
            form.get("decision_date", ""),
        )


def new_team_form(commune_id: int | None, village_id: int | None = None) -> tuple[TeamForm, str]:
    """An empty team form, for the commune asked for when it is one the user keeps (else 404:
    another commune's villages are not shown), or for a village ("create a team for this
    village": the village ticked, its commune chosen). A village out of scope, gone or not a
    village is ignored with a message that tells nothing about it."""
    require_team_manager()
    if village_id is not None:
        village = db.session.scalar(
            current_scope()
            .areas(
                select(Area).where(
                    Area.id == village_id, Area.level == "village", Area.valid_to.is_(None)
                )
            )
            .options(load_only(Area.id, Area.parent_id, Area.name))
        )
        if village is None:
            return TeamForm(commune_id=commune_id), _(
                "Không thể lập tổ cho địa bàn đã chọn; hãy chọn xã, phường và thôn, tổ dân phố."
            )
        owner = db.session.execute(
            select(Area.name, Team.name)
            .join(TeamArea, TeamArea.area_id == Area.id)
            .join(Team, Team.id == TeamArea.team_id)
            .where(Area.id == village.id, TeamArea.active())
        ).first()
        if owner is not None:  # one team per village: shown, not ticked
            return TeamForm(commune_id=village.parent_id), _(
                "{area} đã có tổ: {team}. Mỗi địa bàn chỉ có một tổ.", area=owner[0], team=owner[1]
            )
        # the name teams are given ("Tổ bảo vệ ANTT Thôn Nội 2", as in the decisions), so the
        # planner only checks it; a proper name in Vietnamese whatever the interface language
        name = f"Tổ bảo vệ ANTT {village.name}"
        return TeamForm(name=name, commune_id=village.parent_id, area_ids=[village.id]), ""
    if commune_id is not None:
        _commune(commune_id)
    return TeamForm(commune_id=commune_id), ""


def _commune(commune_id: int) -> Area:
    """A commune in the user's scope, or NotFound."""
    commune = db.session.scalar(
        current_scope()
        .areas(select(Area).where(Area.id == commune_id, Area.level == "commune"))
        .options(load_only(Area.id, Area.name))
    )
    if commune is None:
        raise NotFound(_("Không tìm thấy địa bàn số {id}.", id=commune_id))
    return commune


def require_team_manager() -> None:
    current_scope().require("admin", "commune_officer")


def check_team(form: TeamForm, team_id: int | None = None) -> dict[str, str]:
    """Every rule on a team, as {field: message}; empty when the team may be saved."""
    errors: dict[str, str] = {}
    scope = current_scope()
    if not form.name:
        errors["name"] = _("Nhập tên tổ.")
    commune = None
    if form.commune_id:
        commune = db.session.scalar(
            scope.areas(select(Area).where(Area.id == form.commune_id, Area.level == "commune"))
        )
    if commune is None:
        errors["commune_id"] = _("Chọn xã, phường của tổ.")
    if problem := phone_problem(form.phone):
        errors["phone"] = problem
    if not form.decision_number:
        errors["decision_number"] = _("Nhập số quyết định thành lập tổ.")
    problem = decision_date(form.decision_date)[1]
    if problem:
        errors["decision_date"] = problem
    if not form.area_ids:
        errors["area_ids"] = _("Chọn ít nhất một thôn, tổ dân phố mà tổ phụ trách.")
    elif commune is not None:
        areas = db.session.scalars(select(Area).where(Area.id.in_(form.area_ids))).all()
        outside = [a.name for a in areas if a.parent_id != commune.id or a.valid_to is not None]
        if outside or len(areas) != len(set(form.area_ids)):
            errors["area_ids"] = _(
                "Các địa bàn phải là thôn, tổ dân phố đang hiệu lực của {commune}: {names}.",
                commune=commune.name,
                names=", ".join(outside) or "?",
            )
        else:
            taken = db.session.execute(
                select(Area.name, Team.name)
                .join(TeamArea, TeamArea.area_id == Area.id)
                .join(Team, Team.id == TeamArea.team_id)
                .where(Area.id.in_(form.area_ids), TeamArea.active(), Team.id != (team_id or 0))
            ).all()
            if taken:
                # apart from the outer _(): pybabel extract skips a _() in another _()'s arguments
                pairs = "; ".join(
                    _("{area} đã do {team} phụ trách", area=a, team=t) for a, t in taken
                )
                errors["area_ids"] = _("Mỗi địa bàn chỉ có một tổ: {pairs}.", pairs=pairs)
    return too_long(asdict(form), Team) | errors  # a rule's own message comes first


def save_team(form: TeamForm, team_id: int | None = None) -> Team:
    """Create a team, or change one: areas added are covered from the decision, areas dropped
    stop being covered today."""
    require_team_manager()
    team = _team(team_id) if team_id else None
    errors = check_team(form, team_id)
    if errors:
        raise FormInvalid(errors)
    when = parse_date(form.decision_date)
    if team is None:
        team = Team(commune_id=form.commune_id, established_on=when)
        db.session.add(team)
    elif team.commune_id != form.commune_id:
        raise FormInvalid({"commune_id": _("Một tổ không chuyển sang xã, phường khác.")})
    team.name, team.name_search = form.name, fold(form.name)
    team.phone = form.phone or None
    team.decision_number, team.decision_date = form.decision_number, when
    db.session.flush()
    current = set(covered_area_ids(team.id))
    wanted = set(form.area_ids)
    today = date.today()
    for row in db.session.scalars(
        select(TeamArea).where(
            TeamArea.team_id == team.id,
            TeamArea.area_id.in_(current - wanted),
            TeamArea.active(),
        )
    ):
        if row.valid_from >= today:
            db.session.delete(row)
        else:
            row.valid_to = today
    for area_id in sorted(wanted - current):
        db.session.add(
            TeamArea(
                team_id=team.id,
                commune_id=team.commune_id,
                area_id=area_id,
                valid_from=min(when, today),
            )
        )
    coverage.request_refresh([team.commune_id])
    db.session.commit()
    return team


def _team(team_id: int) -> Team:
    team = db.session.scalar(current_scope().teams(select(Team).where(Team.id == team_id)))
    if team is None:
        raise NotFound(_("Không tìm thấy tổ số {id}.", id=team_id))
    return team


# --- members -------------------------------------------------------------------------------


@dataclass
class MemberForm:
    full_name: str = ""
    role: str = "member"
    phone: str = ""
    birth_date: str = ""
    residence_area_id: int | None = None
    resident_since: str = ""
    education: str = "upper_secondary"
    remote_area: bool = False
    age_approval: str = ""
    appointment_number: str = ""
    appointment_date: str = ""
    appointment_signer: str = ""

    @classmethod
    def of(cls, member: Member) -> MemberForm:
        def iso(value):
            return value.isoformat() if value else ""

        return cls(
            member.full_name,
            member.role,
            member.phone or "",
            iso(member.birth_date),
            member.residence_area_id,
            iso(member.resident_since),
            member.education,
            member.education == "primary",
            member.age_approval or "",
            member.appointment_number,
            iso(member.appointment_date),
            member.appointment_signer,
        )

    @classmethod
    def from_form(cls, form) -> MemberForm:
        return cls(
            nfc(form.get("full_name", "")),
            form.get("role", "member"),
            form.get("phone", "").replace(" ", ""),
            form.get("birth_date", ""),
            to_id(form.get("residence_area_id")),
            form.get("resident_since", ""),
            form.get("education", ""),
            form.get("remote_area") == "1",
            nfc(form.get("age_approval", "")),
            nfc(form.get("appointment_number", "")),
            form.get("appointment_date", ""),
            nfc(form.get("appointment_signer", "")),
        )


# fields whose rule reads another field: a change to the key re-checks these too, so that an
# appointment date that makes the person 17 marks the birth date at once
DEPENDENT_FIELDS = {
    "appointment_date": ("appointment_date", "birth_date", "age_approval", "resident_since"),
    "birth_date": ("birth_date", "age_approval"),
    "age_approval": ("age_approval", "birth_date"),
    "resident_since": ("resident_since",),
    "education": ("education",),
    "role": ("role",),
}
MEMBER_FIELD_LABELS = {
    "full_name": N_("Họ tên"),
    "role": N_("Vai trò"),
    "phone": N_("Điện thoại"),
    "birth_date": N_("Ngày sinh"),
    "age_approval": N_("Văn bản chấp thuận"),
    "residence_area_id": N_("Nơi cư trú"),
    "resident_since": N_("Cư trú từ ngày"),
    "education": N_("Trình độ học vấn"),
    "appointment_number": N_("Số quyết định bổ nhiệm"),
    "appointment_date": N_("Ngày quyết định"),
    "appointment_signer": N_("Người ký"),
}


TEAM_FIELD_LABELS = {
    "name": N_("Tên tổ"),
    "commune_id": N_("Xã, phường"),
    "area_ids": N_("Thôn, tổ dân phố tổ phụ trách"),
    "phone": N_("Điện thoại liên hệ (công khai)"),
    "decision_number": N_("Số quyết định thành lập"),
    "decision_date": N_("Ngày quyết định"),
}


def in_form_order(errors: dict[str, str], labels: dict[str, str]) -> dict[str, str]:
    """The errors in the order their fields come on the form: the first is focused."""
    order = list(labels)
    return dict(sorted(errors.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99))


def checked_together(name: str) -> tuple[str, ...]:
    """The fields to check again when `name` changes: itself and those whose rule reads it."""
    return DEPENDENT_FIELDS.get(name, (name,))


def managed_team(team_id: int) -> Team:
    """A team the user may keep: admins and officers in scope, a leader their own."""
    current_scope().require("admin", "commune_officer", "team_leader")
    return _team(team_id)


def check_member(team: Team, form: MemberForm, member_id: int | None = None) -> dict[str, str]:
    """Every rule on appointing a member (or correcting one: member_id), as {field: message}."""
    errors: dict[str, str] = {}
    sizing = sizing_for(team.commune_id)
    serving = db.session.scalars(
        select(Member).where(
            Member.team_id == team.id, Member.left_on.is_(None), Member.id != (member_id or 0)
        )
    ).all()
    if not form.full_name:
        errors["full_name"] = _("Nhập họ tên.")
    if form.role not in ("leader", "deputy", "member"):
        errors["role"] = _("Chọn vai trò.")
    elif form.role == "leader" and any(m.role == "leader" for m in serving):
        errors["role"] = _("Tổ đã có tổ trưởng; một tổ chỉ có một tổ trưởng.")
    elif form.role == "deputy" and sum(m.role == "deputy" for m in serving) >= sizing.max_deputies:
        errors["role"] = _("Tổ đã có đủ {n} tổ phó theo quy định.", n=sizing.max_deputies)
    if sizing.max_members is not None and len(serving) >= sizing.max_members:
        errors["full_name"] = _(
            "Tổ đã có {n} thành viên, tối đa theo quy định là {m}.",
            n=len(serving),
            m=sizing.max_members,
        )
    if problem := phone_problem(form.phone):
        errors["phone"] = problem
    appointed, problem = decision_date(form.appointment_date)
    if problem:
        errors["appointment_date"] = problem
    if not form.appointment_number:
        errors["appointment_number"] = _("Nhập số quyết định.")
    if not form.appointment_signer:
        errors["appointment_signer"] = _("Nhập người ký quyết định (Chủ tịch UBND xã, phường).")
    born = parse_date(form.birth_date)
    if born is None:
        errors["birth_date"] = _("Nhập ngày sinh.")
    elif appointed:
        age = _years_between(born, appointed)
        if age < 18:
            errors["birth_date"] = _("Chưa đủ 18 tuổi khi được bổ nhiệm ({age} tuổi).", age=age)
        elif age > 70 and not form.age_approval:
            errors["age_approval"] = _(
                "Trên 70 tuổi ({age} tuổi) khi được bổ nhiệm: cần ghi văn bản chấp thuận.", age=age
            )
    covered = covered_area_ids(team.id)
    if form.residence_area_id not in covered:
        errors["residence_area_id"] = _("Chọn nơi cư trú: một địa bàn tổ phụ trách.")
    since = parse_date(form.resident_since)
    if since is None:
        errors["resident_since"] = _("Nhập ngày bắt đầu cư trú.")
    elif appointed and _years_between(since, appointed) < 1:
        errors["resident_since"] = _("Cần cư trú tại địa bàn ít nhất một năm trước ngày bổ nhiệm.")
    if form.education not in EDUCATION:
        errors["education"] = _("Chọn trình độ học vấn.")
    elif form.education == "primary" and not form.remote_area:
        errors["education"] = _(
            "Cần tốt nghiệp trung học cơ sở; tiểu học chỉ được chấp nhận ở vùng đặc biệt khó khăn."
        )
    return too_long(asdict(form), Member) | errors  # a rule's own message comes first


def add_member(team_id: int, form: MemberForm) -> Member:
    team = managed_team(team_id)
    errors = check_member(team, form)
    if errors:
        raise FormInvalid(errors)
    return _appoint(team, form)


def update_member(team_id: int, member_id: int, form: MemberForm) -> Member:
    """Correct a serving member's details or role, under the same rules; the log keeps the old."""
    team = managed_team(team_id)
    member = _member(team, member_id)
    errors = check_member(team, form, member.id)
    if errors:
        raise FormInvalid(errors)
    _fill(member, form)
    coverage.request_refresh([team.commune_id])
    db.session.commit()
    return member


def _fill(member: Member, form: MemberForm) -> None:
    member.full_name = form.full_name
    member.role = form.role
    member.phone = form.phone or None
    member.birth_date = parse_date(form.birth_date)
    member.residence_area_id = form.residence_area_id
    member.resident_since = parse_date(form.resident_since)
    member.education = form.education
    member.age_approval = form.age_approval or None
    member.appointment_number = form.appointment_number
    member.appointment_date = parse_date(form.appointment_date)
    member.appointment_signer = form.appointment_signer


def _appoint(team: Team, form: MemberForm) -> Member:
    member = _added(team, form)
    coverage.request_refresh([team.commune_id])  # commits the appointment with its mark
    db.session.commit()
    return member


def _added(team: Team, form: MemberForm) -> Member:
    """The member appointed, in the session only: a move commits it with the leaving."""
    member = Member(team_id=team.id)
    _fill(member, form)
    db.session.add(member)
    return member


def serving_member(team: Team, member_id: int) -> Member:
    return _member(team, member_id)


def _member(team: Team, member_id: int) -> Member:
    member = db.session.scalar(
        select(Member).where(
            Member.id == member_id, Member.team_id == team.id, Member.left_on.is_(None)
        )
    )
    if member is None:
        raise NotFound(_("Không tìm thấy thành viên số {id}.", id=member_id))
    return member


def leave(team_id: int, member_id: int, on: str, decision: str) -> Member:
    """A member leaves (dismissal or resignation) by a dated decision; the record stays."""
    member = _left(team_id, member_id, on, decision)
    coverage.request_refresh([member.team.commune_id])  # commits the leaving with its mark
    db.session.commit()
    return member


def _left(team_id: int, member_id: int, on: str, decision: str) -> Member:
    """The member's leaving, checked and in the session: the caller commits."""
    team = managed_team(team_id)
    member = _member(team, member_id)
    errors = too_long({"left_decision": nfc(decision)}, Member)
    when = parse_date(on)
    if when is None:
        errors["left_on"] = _("Nhập ngày thôi làm thành viên.")
    elif when < member.appointment_date:
        errors["left_on"] = _("Ngày thôi không được trước ngày bổ nhiệm.")
    elif when > date.today():
        errors["left_on"] = _("Ngày quyết định không được ở tương lai.")
    if not nfc(decision):
        errors["left_decision"] = _("Nhập số quyết định.")
    if errors:
        raise FormInvalid(errors)
    member.left_on, member.left_decision = when, nfc(decision)
    return member


def move(
    team_id: int, member_id: int, to_team_id: int, on: str, decision: str, signer: str
) -> Member:
    """Move a member to another team of the commune: leaves here, appointed there, one decision."""
    team = managed_team(team_id)
    member = _member(team, member_id)
    target = _team(to_team_id) if to_team_id else None
    if target is None or target.id == team.id or target.commune_id != team.commune_id:
        raise FormInvalid({"to_team_id": _("Chọn một tổ khác của cùng xã, phường.")})
    # the decision ends one appointment and makes the other; the signer signs the new one
    if errors := too_long(
        {"left_decision": nfc(decision), "signer": nfc(signer)},
        left_decision=Member.appointment_number,
        signer=Member.appointment_signer,
    ):
        raise FormInvalid(errors)
    form = MemberForm(
        full_name=member.full_name,
        role="member",
        phone=member.phone or "",
        birth_date=member.birth_date.isoformat(),
        residence_area_id=(covered_area_ids(target.id) or [None])[0]
        if member.residence_area_id not in covered_area_ids(target.id)
        else member.residence_area_id,
        resident_since=(member.resident_since or member.birth_date).isoformat(),
        education=member.education,
        remote_area=True,
        age_approval=member.age_approval or "",
        appointment_number=nfc(decision),
        appointment_date=on,
        appointment_signer=nfc(signer),
    )
    errors = check_member(target, form)
    errors.pop("residence_area_id", None)  # the member may live next door; the decision says so
    if errors:
        raise FormInvalid({"to_team_id": " ".join(errors.values())})
    # one transaction: never left here without being appointed there
    _left(team_id, member_id, on, decision)
    moved = _added(target, form)
    coverage.request_refresh([team.commune_id])  # the one commit, with the commune's mark
    db.session.commit()
    return moved


# --- choices for the forms -------------------------------------------------------------------


def team_choices(commune_id: int | None) -> dict:
    scope = current_scope()
    communes = db.session.scalars(
        scope.areas(select(Area).where(Area.level == "commune", Area.valid_to.is_(None)))
        .options(load_only(Area.id, Area.name))
        .order_by(Area.name)
    ).all()
    villages = []
    taken: dict[int, tuple[int, str]] = {}
    if commune_id and commune_id in {c.id for c in communes}:  # never another commune's
        villages = db.session.scalars(
            select(Area)
            .where(Area.parent_id == commune_id, Area.valid_to.is_(None))
            .options(load_only(Area.id, Area.name, Area.code))
            .order_by(Area.code, Area.name)
        ).all()
        # one team per village (the rule check_team applies): the picker names the team
        taken = {
            area_id: (team_id, name)
            for area_id, team_id, name in db.session.execute(
                select(TeamArea.area_id, Team.id, Team.name)
                .join(Team, Team.id == TeamArea.team_id)
                .where(TeamArea.commune_id == commune_id, TeamArea.active())
            )
        }
    return {"communes": communes, "villages": villages, "taken": taken}


def member_choices(team: Team) -> dict:
    ids = covered_area_ids(team.id)
    areas = db.session.scalars(
        select(Area)
        .where(Area.id.in_(ids))
        .options(load_only(Area.id, Area.name))
        .order_by(Area.name)
    ).all()
    return {"areas": areas, "educations": EDUCATION}


def move_choices(team: Team) -> dict:
    """The other teams of the commune a member can move to, when the user keeps this team."""
    if current_scope().role not in ("admin", "commune_officer", "team_leader"):
        return {"other_teams": []}
    others = db.session.scalars(
        current_scope()
        .teams(select(Team))
        .where(Team.commune_id == team.commune_id, Team.id != team.id, Team.dissolved_on.is_(None))
        .order_by(Team.id)
    ).all()
    return {"other_teams": others}
