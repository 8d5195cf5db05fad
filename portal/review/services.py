"""The review: every figure of the city's one-year report for a place and a period, with the
period before it, broken down by month, by kind and by commune (or team), from the portal's rows.

Patrols and items come from the monthly figures the database keeps by trigger
(portal.models.review) plus the rows of the days outside whole months; teams, members and
villages are read as they stood on the period's last day (or today, for a period not over).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import date

from flask import g, has_app_context
from sqlalchemy import func, select, text

from portal.errors import FormInvalid, NotFound
from portal.extensions import db
from portal.i18n import N_, _, format_month, label, number, thousands
from portal.incidents.filters import today
from portal.incidents.kinds import KIND_LABELS
from portal.models import (
    TEAM_KINDS,
    TIP_KINDS,
    Area,
    ReviewCommunes,
    ReviewIncidents,
    ReviewPatrols,
    Team,
)
from portal.review import periods, queries
from portal.review.periods import Period
from portal.review.queries import Place
from portal.security import current_scope
from portal.text import vietnamese_key

# The report's figures in its order, then what a planner needs beside them: key → label.
FIGURES = {
    "teams": N_("Số tổ"),
    "members": N_("Số thành viên"),
    "coverage": N_("Thôn, tổ dân phố có tổ (%)"),
    "tips": N_("Tin báo"),
    "valuable": N_("Tin có giá trị"),
    "patrols": N_("Lượt tuần tra"),
    "violations": N_("Vụ vi phạm phát hiện"),
    "fire": N_("Vụ cháy, nổ"),
    "rescue": N_("Vụ cứu nạn, cứu hộ"),
    "joined": N_("Thành viên mới"),
    "left": N_("Thành viên thôi"),
    "understaffed": N_("Tổ thiếu người"),
    "never_patrolled": N_("Thôn chưa được tuần tra"),
    "handover_hours": N_("Từ tin báo đến chuyển công an (giờ, trung bình)"),
}
# the figures a unit's row shows (the table by commune or by team)
UNIT_FIGURES = (
    "teams",
    "members",
    "coverage",
    "tips",
    "valuable",
    "patrols",
    "violations",
    "fire",
    "rescue",
    "understaffed",
    "never_patrolled",
)
# which way is better, for the change's colour: more patrols is good, more gaps are not
BETTER_UP = {"teams", "members", "coverage", "valuable", "patrols", "joined"}
# fires and rescues the teams joined are work done, not fires caused: neither good nor bad news
BETTER_DOWN = {"understaffed", "never_patrolled", "handover_hours", "left"}
# figures read from the teams as they stood (founding and membership dates), comparable with
# any period; the others count what the portal recorded, comparable only once it recorded
STATE_FIGURES = {"teams", "members", "coverage", "understaffed"}


def figure_label(key: str) -> str:
    return label(FIGURES, key)


def decimal(value: float, places: int = 1) -> str:
    """A decimal with `places` decimals in the user's language: 98,9 (98.9 in English)."""
    return number(value, places)


def format_figure(key: str, value) -> str:
    """A figure as the page and the printed report show it; "—" when it has no value."""
    if value is None:
        return "—"
    if key == "coverage":
        return decimal(value) + "%"
    if key == "handover_hours":
        return decimal(value)
    return thousands(value)


def unit_cells(figures: Figures) -> list[str]:
    """A row of the table by commune or team: its figures as the page shows them."""
    return [format_figure(key, figures.value(key)) for key in UNIT_FIGURES]


def format_percent(value: float) -> str:
    """A change in per cent with its sign: +12,5%."""
    return ("+" if value > 0 else "−" if value < 0 else "") + decimal(abs(value)) + "%"


def format_delta(key: str, value) -> str:
    """A change with its sign: +1.234, −2,5."""
    text = format_figure(key, abs(value))
    return ("+" if value > 0 else "−" if value < 0 else "") + text


@dataclass
class Figures:
    """The report's figures for one place (or one commune, one team) over one period."""

    teams: int = 0
    members: int = 0
    villages: int = 0
    villages_covered: int = 0
    tips: int = 0
    valuable: int = 0
    tips_passed: int = 0
    pass_seconds: float = 0.0
    patrols: int = 0
    cancelled: int = 0
    joint: int = 0
    violations: int = 0
    handed: int = 0  # situations handed to the police from patrols
    fire: int = 0
    rescue: int = 0
    team_items: int = 0  # every item a team recorded (cases handled)
    joined: int = 0
    left: int = 0
    understaffed: int = 0
    no_leader: int = 0
    never_patrolled: int = 0

    @property
    def coverage(self) -> float | None:
        """Share of villages with a team, in per cent."""
        return 100.0 * self.villages_covered / self.villages if self.villages else None

    @property
    def handover_hours(self) -> float | None:
        return self.pass_seconds / self.tips_passed / 3600 if self.tips_passed else None

    @property
    def patrols_per_member(self) -> float | None:
        return self.patrols / self.members if self.members else None

    def value(self, key: str):
        return getattr(self, key)

    def add(self, other: Figures) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class Change:
    """A figure now, before, and whether its change is good news."""

    key: str
    now: float | None
    before: float | None
    # False when the period before began ahead of the portal's records: no change is shown
    comparable: bool = True

    @property
    def label(self) -> str:
        return figure_label(self.key)

    @property
    def delta(self) -> float | None:
        if not self.comparable or self.now is None or self.before is None:
            return None
        return self.now - self.before

    @property
    def percent(self) -> float | None:
        if self.delta is None or not self.before:
            return None
        return 100.0 * self.delta / self.before

    @property
    def tone(self) -> str:
        """good, bad or same: for the arrow's colour."""
        if not self.delta:
            return "same"
        up = self.delta > 0
        if self.key in BETTER_UP:
            return "good" if up else "bad"
        if self.key in BETTER_DOWN:
            return "bad" if up else "good"
        return "same"


@dataclass
class MonthRow:
    month: date
    figures: Figures

    @property
    def label(self) -> str:
        """The month as the reader's language writes it: 01/2026, Jan 2026."""
        return format_month(self.month)


@dataclass
class KindRow:
    source: str
    kind: str
    items: int = 0
    valuable: int = 0
    passed: int = 0

    @property
    def label(self) -> str:
        return label(KIND_LABELS, self.kind)


@dataclass
class UnitRow:
    """One commune of the city, or one team of a commune."""

    id: int | None
    name: str
    figures: Figures


@dataclass
class Review:
    place: Place
    title: str  # "Thành phố Hà Nội", "Phường Ba Đình", "Tổ … (Phường …)"
    period: Period
    previous: Period
    figures: Figures
    before: Figures
    months: list[MonthRow]
    kinds: list[KindRow]
    units: list[UnitRow]
    as_of: date  # the day teams, members and villages are counted on
    commune_name: str | None = None
    team_name: str | None = None
    records_since: date | None = None  # the first month the portal holds patrols or items for

    @property
    def months_shown(self) -> list[MonthRow]:
        """The months up to the day figures are read on: a month yet to come is not a zero."""
        return [m for m in self.months if m.month <= self.as_of]

    @property
    def previous_complete(self) -> bool:
        """Whether the portal recorded the whole period before (else its counts are partial)."""
        return self.records_since is not None and self.previous.start >= self.records_since

    @property
    def changes(self) -> list[Change]:
        whole = self.previous_complete
        return [
            Change(k, self.figures.value(k), self.before.value(k), whole or k in STATE_FIGURES)
            for k in FIGURES
        ]

    @property
    def unit_heading(self) -> str:
        return _("Xã, phường") if self.place.level == "city" else _("Tổ")

    @property
    def tip_kinds(self) -> list[KindRow]:
        return [k for k in self.kinds if k.source == "tip"]

    @property
    def team_kinds(self) -> list[KindRow]:
        return [k for k in self.kinds if k.source == "team"]


# --- the place ---------------------------------------------------------------------------------


def place_for(commune_id: int | None, team_id: int | None) -> Place:
    """The place asked for, within the account's scope: an admin any, an officer their commune
    or one of its teams, a leader their team. Out of scope answers 404, as everywhere."""
    scope = current_scope()
    scope.require("admin", "commune_officer", "team_leader")
    if scope.role == "team_leader":
        if team_id not in (None, scope.team_id) or commune_id not in (None, scope.commune_id):
            raise NotFound(_("Không tìm thấy tổ này."))
        return Place("team", scope.commune_id, scope.team_id)
    if scope.role == "commune_officer":
        if commune_id not in (None, scope.commune_id):
            raise NotFound(_("Không tìm thấy xã, phường này."))
        commune_id = scope.commune_id
    if team_id is not None:
        team = db.session.execute(
            scope.teams(select(Team.id, Team.commune_id)).where(Team.id == team_id)
        ).first()
        if team is None:
            raise NotFound(_("Không tìm thấy tổ này."))
        # a team left chosen from the commune before: the form's commune was just changed
        if commune_id in (None, team.commune_id):
            return Place("team", team.commune_id, team.id)
    if commune_id is not None:
        found = db.session.scalar(
            scope.areas(select(Area.id)).where(Area.id == commune_id, Area.level == "commune")
        )
        if found is None:
            raise NotFound(_("Không tìm thấy xã, phường này."))
        return Place("commune", commune_id)
    return Place("city")


def _title(place: Place) -> tuple[str, str | None, str | None]:
    commune = db.session.get(Area, place.commune_id) if place.commune_id else None
    team = db.session.get(Team, place.team_id) if place.team_id else None
    if team is not None:
        return f"{team.name} ({commune.name})", commune.name, team.name
    if commune is not None:
        return commune.name, commune.name, None
    province = db.session.scalar(select(Area.name).where(Area.parent_id.is_(None)).limit(1))
    return province or _("Toàn thành phố"), None, None


# --- the figures -------------------------------------------------------------------------------


def _as_of(period: Period) -> date:
    """The day states are read on: the period's last day, or today if it is not over."""
    return min(period.last, today())


def _flows(period: Period, place: Place, units: dict, months: dict, kinds: dict | None) -> None:
    """Patrols and items into the figures by unit and by month, and items by kind."""
    for row in db.session.execute(queries.flows(period, place)):
        target = units[row.unit] if row.by_unit else months[row.month]
        for name in queries.FLOWS:
            now = getattr(target, name)
            # the raw rows' sums come as Decimal (custom periods): keep the field's own type,
            # or the charts' arithmetic with floats fails
            setattr(target, name, now + type(now)(row._mapping[name] or 0))
    if kinds is None:
        return
    for row in db.session.execute(queries.kinds(period, place)):
        kinds[(row.source, row.kind)] = KindRow(
            row.source, row.kind, int(row.items), int(row.valuable), int(row.passed)
        )


def _by_population() -> bool:
    """Whether some province sizes its teams by population (read once a request)."""
    if not has_app_context():  # (a script or a test computing without a request)
        return bool(db.session.scalar(queries.population_rules()))
    if "review_by_population" not in g:
        g.review_by_population = bool(db.session.scalar(queries.population_rules()))
    return g.review_by_population


def _states(period: Period, place: Place, units: dict) -> None:
    """Teams, members, villages as they stood at the period's end, and who joined or left."""
    day = _as_of(period)
    for row in db.session.execute(queries.team_states(day, place, _by_population())):
        target = units[row.unit]
        target.teams += row.teams
        target.members += int(row.members or 0)
        target.understaffed += row.understaffed
        target.no_leader += row.no_leader
    for row in db.session.execute(queries.member_moves(period, place)):
        units[row.unit].joined += row.joined
        units[row.unit].left += row.left
    for row in db.session.execute(queries.village_states(period, day, place)):
        target = units[row.unit]
        target.villages += row.villages
        target.villages_covered += row.covered
        target.never_patrolled += row.never


def records_since() -> date | None:
    """The first month of the portal's records (patrols or items), anywhere in the city."""
    firsts = select(func.min(ReviewPatrols.month)).union_all(
        select(func.min(ReviewIncidents.month))
    )
    return min((d for d in db.session.scalars(firsts) if d is not None), default=None)


def compute(
    period: Period, place: Place, *, by_kind: bool = True
) -> tuple[Figures, dict, dict, dict]:
    """The figures of a place over a period: totals, by unit, by month, by (source, kind)
    (not by kind when `by_kind` is False: the period before is only compared in totals)."""
    units: dict = defaultdict(Figures)
    months: dict = defaultdict(Figures)
    kinds: dict = {}
    _flows(period, place, units, months, kinds if by_kind else None)
    _states(period, place, units)
    total = Figures()
    for figures in units.values():
        total.add(figures)
    return total, units, months, kinds


def _unit_names(place: Place, ids: list[int]) -> dict[int, str]:
    if place.level == "city":
        rows = db.session.execute(select(Area.id, Area.name).where(Area.id.in_(ids)))
    else:
        rows = db.session.execute(select(Team.id, Team.name).where(Team.id.in_(ids)))
    return dict(rows.all())


def review(period: Period, place: Place) -> Review:
    """The review of a place over a period, with the period before for the changes."""
    total, units, months, kinds = compute(period, place)
    before = compute(period.previous(), place, by_kind=False)[0]  # (not `*_`: it hides _())
    title, commune_name, team_name = _title(place)
    rows: list[UnitRow] = []
    if place.level != "team":
        ids = [u for u in units if u is not None]
        names = _unit_names(place, ids)
        rows = sorted(
            (UnitRow(u, names.get(u, "?"), f) for u, f in units.items() if u is not None),
            key=lambda r: vietnamese_key(r.name),
        )
        if None in units:  # villages and tips without a team, in a commune's table
            rows.append(UnitRow(None, _("Chưa có tổ"), units[None]))
    order = {k: i for i, k in enumerate(TIP_KINDS + TEAM_KINDS)}
    return Review(
        place=place,
        title=title,
        period=period,
        previous=period.previous(),
        figures=total,
        before=before,
        months=[MonthRow(m, months.get(m, Figures())) for m in period.months()],
        kinds=sorted(kinds.values(), key=lambda k: (k.source != "tip", order.get(k.kind, 99))),
        units=rows,
        as_of=_as_of(period),
        commune_name=commune_name,
        team_name=team_name,
        records_since=records_since(),
    )


def parse_period(args) -> Period:
    return periods.parse(args, today())


def rebuild() -> dict[str, int]:
    """Rewrite the stored monthly figures from the rows (review_rebuild(), migration 0014)."""
    db.session.execute(text("SELECT review_rebuild()"))
    db.session.commit()
    return {
        name: db.session.scalar(select(func.count()).select_from(model))
        for name, model in (
            ("patrols", ReviewPatrols),
            ("incidents", ReviewIncidents),
            ("communes", ReviewCommunes),
        )
    }


# --- the page ----------------------------------------------------------------------------------


@dataclass
class Choices:
    """What the form offers: communes (admin), the chosen commune's teams (admin, officer)."""

    communes: list[tuple[int, str]]
    teams: list[tuple[int, str]]
    years: list[int]


@dataclass
class ReviewPage:
    asked: dict  # the arguments as given, to fill the form again
    choices: Choices
    review: Review | None
    errors: dict[str, str]
    place: Place | None = None


def choices_for(place: Place) -> Choices:
    scope = current_scope()
    communes: list[tuple[int, str]] = []
    if scope.is_admin:
        rows = db.session.execute(
            select(Area.id, Area.name).where(Area.level == "commune", Area.valid_to.is_(None))
        ).all()
        communes = sorted(((r.id, r.name) for r in rows), key=lambda r: vietnamese_key(r[1]))
    teams: list[tuple[int, str]] = []
    if place.commune_id is not None and scope.role != "team_leader":
        rows = db.session.execute(
            scope.teams(select(Team.id, Team.name)).where(
                Team.commune_id == place.commune_id, Team.dissolved_on.is_(None)
            )
        ).all()
        teams = sorted(((r.id, r.name) for r in rows), key=lambda r: vietnamese_key(r[1]))
    this_year = today().year
    return Choices(communes, teams, list(range(this_year, periods.EARLIEST_LISTED - 1, -1)))


def _custom_days(args, day: date):
    """ "Tùy chọn" just chosen, its days not yet given: the year shown so far, to fill the
    date fields, instead of an error the user has not made."""
    if args.get("kind") != "custom" or args.get("from") or args.get("to"):
        return args
    raw = (args.get("year") or "").strip()
    year = int(raw) if raw.isdigit() and periods.EARLIEST.year <= int(raw) <= day.year else day.year
    last = min(date(year, 12, 31), day)
    return {**dict(args), "from": date(year, 1, 1).isoformat(), "to": last.isoformat()}


def page(args, commune_id: int | None, team_id: int | None) -> ReviewPage:
    """The review page for the arguments; a wrong period is shown beside its field."""
    place = place_for(commune_id, team_id)
    choices = choices_for(place)
    args = _custom_days(args, today())
    try:
        period = periods.parse(args, today())
    except FormInvalid as error:
        return ReviewPage(dict(args), choices, None, error.fields, place)
    asked = {"commune": place.commune_id, "team": place.team_id, **period.args()}
    return ReviewPage(asked, choices, review(period, place), {}, place)
