"""The monthly duty sheets: each member's hours per day of the month under the province's
allowance rule, for one team or for every team of a commune."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from geo.duty import LOCAL, DailyHours, MonthDuty, NightShifts, Rule, month_days, month_duty
from portal.duty import queries
from portal.errors import MESSAGES, BadParameter, NotFound
from portal.extensions import db
from portal.i18n import _, decimal
from portal.models import AccountRole, Area, Member, Team
from portal.models.patrol import DutyRule, PatrolRules
from portal.security import current_scope
from portal.text import fold

MONTH = re.compile(r"(\d{4})-(\d{2})")
ROLE_ORDER = {"leader": 0, "deputy": 1}


@dataclass
class MemberRow:
    member: Member
    duty: MonthDuty

    def hours(self, day: date) -> float:
        return self.duty.hours_by_day.get(day, 0.0)

    def counts(self, day: date) -> bool:
        return day in self.duty.counted


@dataclass
class TeamBlock:
    team: Team
    rows: list[MemberRow] = field(default_factory=list)


@dataclass
class DutySheet:
    """One month's sheet: a team's (one block) or a commune's (one block per team)."""

    commune: Area
    province: Area
    month: date  # its first day
    rule: Rule | None
    rule_text: str
    blocks: list[TeamBlock]
    team: Team | None = None  # the team of a team's sheet

    @property
    def days(self) -> list[date]:
        return month_days(self.month.year, self.month.month)

    @property
    def nights(self) -> bool:
        return isinstance(self.rule, NightShifts)

    @property
    def previous(self) -> str:
        return month_text((self.month - timedelta(days=1)).replace(day=1))

    @property
    def next(self) -> str:
        return month_text((self.month + timedelta(days=31)).replace(day=1))

    @property
    def month_param(self) -> str:
        return month_text(self.month)


def month_text(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def parse_month(text: str | None) -> date:
    """The month YYYY-MM as its first day; the current local month when absent; a 400 naming
    the parameter otherwise."""
    text = (text or "").strip()
    if not text:
        return datetime.now(LOCAL).date().replace(day=1)
    match = MONTH.fullmatch(text)
    year, month = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    if not match or not 1 <= month <= 12 or not 2000 <= year <= 2100:
        raise BadParameter("month", _("“month” phải là một tháng dạng NNNN-TT, ví dụ 2026-11."))
    return date(year, month, 1)


def hours_text(hours: float) -> str:
    """Hours in the user's language: 4, 2,5, 1,33 (2.5, 1.33 in English; empty for none)."""
    if not hours:
        return ""
    return decimal(hours, 2)


def _rule(row: PatrolRules | None) -> Rule | None:
    if row is None:
        return None
    if row.duty_rule == DutyRule.NIGHT_SHIFTS:
        return NightShifts(
            min_hours=row.min_night_hours,
            start=row.night_start,
            end=row.night_end,
            max_per_month=row.max_per_month,
        )
    return DailyHours(min_hours=row.min_hours_per_day)


def rule_text(province: Area, rule: Rule | None) -> str:
    """The allowance rule in words, as the sheet states it."""
    if isinstance(rule, DailyHours):
        return _(
            "{province}: ngày trực từ {hours} giờ trở lên được tính một ngày",
            province=province.name,
            hours=hours_text(rule.min_hours),
        )
    if isinstance(rule, NightShifts):
        text = _(
            "{province}: ca đêm {start}–{end} có từ {hours} giờ trực trở lên được tính một ca",
            province=province.name,
            start=rule.start.strftime("%H:%M"),
            end=rule.end.strftime("%H:%M"),
            hours=hours_text(rule.min_hours),
        )
        if rule.max_per_month is not None:
            text += _(", tối đa {n} ca một tháng", n=rule.max_per_month)
        return text
    return _("{province}: chưa có quy định tính ngày trực.", province=province.name)


def _blocks(teams: list[Team], month: date, rule: Rule | None, **where) -> list[TeamBlock]:
    days = month_days(month.year, month.month)
    shifts: dict[tuple[int, int], list] = defaultdict(list)
    for team_id, member_id, start, end in db.session.execute(
        queries.shifts(days[0], days[-1], **where)
    ):
        shifts[(team_id, member_id)].append((start, end))
    went = {member_id for _team, member_id in shifts}
    members = db.session.scalars(
        queries.members([t.id for t in teams], days[0], days[-1], went)
    ).all()
    blocks = []
    for team in teams:
        on_team = [m for m in members if m.team_id == team.id or (team.id, m.id) in shifts]
        on_team.sort(key=lambda m: (ROLE_ORDER.get(m.role, 2), fold(m.full_name), m.id))
        rows = [
            MemberRow(m, month_duty(shifts.get((team.id, m.id), []), rule, month.year, month.month))
            for m in on_team
        ]
        blocks.append(TeamBlock(team, rows))
    return blocks


def _sheet(commune: Area, month: date, teams: list[Team], team: Team | None, **where) -> DutySheet:
    province = db.session.scalar(queries.area(commune.parent_id))
    rule = _rule(db.session.scalar(queries.rules(province.id)))
    return DutySheet(
        commune=commune,
        province=province,
        month=month,
        rule=rule,
        rule_text=rule_text(province, rule),
        blocks=_blocks(teams, month, rule, **where),
        team=team,
    )


def team_sheet(team_id: int, month: date) -> DutySheet:
    """A team's month (leader: their own team; officer: their commune's; admin: any)."""
    team = db.session.scalar(queries.team(team_id, current_scope()))
    if team is None:
        raise NotFound(_("Không tìm thấy tổ số {id}.", id=team_id))
    commune = db.session.scalar(queries.area(team.commune_id))
    return _sheet(commune, month, [team], team, team_id=team.id)


def commune_sheet(commune_id: int, month: date) -> DutySheet:
    """A commune's month, one block per team (commune officers and admins only)."""
    scope = current_scope()
    scope.require(AccountRole.ADMIN, AccountRole.COMMUNE_OFFICER)
    commune = db.session.scalar(queries.commune(commune_id, scope))
    if commune is None:
        raise NotFound(_(MESSAGES[404]))
    teams = list(db.session.scalars(queries.commune_teams(commune.id, month)))
    return _sheet(commune, month, teams, None, commune_id=commune.id)
