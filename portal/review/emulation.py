"""The emulation movement (phong trào thi đua): communes of the city, or teams of a commune,
ranked on criteria kept as data (portal.models.EmulationCriterion), with the figures behind
each rank.

Each criterion's raw value comes from the review's figures of the unit over the period
(portal.review.services.compute); its score is the value against the best value among those
ranked (the best scores 100); the total is the scores' average weighted by the criteria's
weights, and equal totals share a rank.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from portal import audit
from portal.errors import FormInvalid
from portal.extensions import db
from portal.i18n import N_, _, label, thousands
from portal.incidents.filters import today
from portal.models import Area, EmulationCriterion, Team
from portal.pagination import Page
from portal.review import periods, services
from portal.review.periods import Period
from portal.review.queries import Place
from portal.review.services import Figures
from portal.security import current_scope
from portal.text import vietnamese_key

audit.AUDITED[EmulationCriterion] = (
    "emulation_criterion",
    lambda o: ("area", o.province_id),
)
audit.ENTITY_LABELS["emulation_criterion"] = N_("tiêu chí thi đua")
audit.ENTITY_FIELD_LABELS.update(
    {
        ("emulation_criterion", "key"): N_("Mã tiêu chí"),
        ("emulation_criterion", "label"): N_("Tiêu chí"),
        ("emulation_criterion", "weight"): N_("Trọng số"),
        ("emulation_criterion", "higher_better"): N_("Cao hơn là tốt hơn"),
        ("emulation_criterion", "position"): N_("Thứ tự"),
    }
)

MAX_WEIGHT = 100.0


@dataclass(frozen=True)
class Criterion:
    key: str
    label: str
    weight: float
    higher_better: bool = True
    position: int = 0


# The set the migration (0015) seeds for each province; a province without rows is ranked on it.
DEFAULTS = (
    Criterion("patrols_per_member", N_("Lượt tuần tra bình quân mỗi thành viên"), 3.0, True, 1),
    Criterion("valuable_tips", N_("Tin báo có giá trị"), 2.0, True, 2),
    Criterion("coverage", N_("Thôn, tổ dân phố đã có tổ (%)"), 2.0, True, 3),
    Criterion("villages_patrolled", N_("Thôn, tổ dân phố được tuần tra (%)"), 1.0, True, 4),
    Criterion("cases_handled", N_("Vụ việc tổ đã xử lý"), 2.0, True, 5),
    Criterion("violations_found", N_("Vụ vi phạm tổ phát hiện"), 1.0, True, 6),
    Criterion("joint_patrols", N_("Lượt tuần tra cùng công an"), 1.0, True, 7),
)
LABELS = {c.key: c.label for c in DEFAULTS}  # translated through _(): see criterion_label
audit.VALUE_LABELS[("emulation_criterion", "key")] = LABELS


def criterion_label(criterion: Criterion) -> str:
    return label(LABELS, criterion.key) if criterion.key in LABELS else criterion.label


def _villages_patrolled(f: Figures) -> float | None:
    return 100.0 * (f.villages - f.never_patrolled) / f.villages if f.villages else None


# how each criterion reads its raw value from a unit's figures (None: no value, e.g. no members)
VALUES = {
    "patrols_per_member": lambda f: f.patrols_per_member,
    "valuable_tips": lambda f: f.valuable,
    "coverage": lambda f: f.coverage,
    "villages_patrolled": _villages_patrolled,
    "cases_handled": lambda f: f.team_items,
    "violations_found": lambda f: f.violations,
    "joint_patrols": lambda f: f.joint,
}
DECIMALS = {"patrols_per_member": 2, "coverage": 1, "villages_patrolled": 1}


def format_value(key: str, value: float | None) -> str:
    if value is None:
        return "—"
    if key in DECIMALS:
        text = services.decimal(value, DECIMALS[key])
        return text + "%" if key in ("coverage", "villages_patrolled") else text
    return thousands(value)


# --- the criteria ------------------------------------------------------------------------------


def province_of(place: Place) -> int | None:
    """The province whose criteria rank the place: the commune's, or the city's."""
    if place.commune_id is not None:
        return db.session.scalar(select(Area.parent_id).where(Area.id == place.commune_id))
    return db.session.scalar(
        select(Area.id)
        .where(Area.level == "province", Area.valid_to.is_(None))
        .order_by(Area.id)
        .limit(1)
    )


def criteria(province_id: int | None) -> list[Criterion]:
    """The province's criteria in their order; a criterion it has no row for at its default."""
    rows = {}
    if province_id is not None:
        rows = {
            r.key: r
            for r in db.session.scalars(
                select(EmulationCriterion).where(EmulationCriterion.province_id == province_id)
            )
        }
    out = []
    for default in DEFAULTS:
        row = rows.get(default.key)
        if row is None:
            out.append(default)
        else:
            out.append(
                Criterion(row.key, row.label, float(row.weight), row.higher_better, row.position)
            )
    return sorted(out, key=lambda c: c.position)


def _weight(text: str | None) -> float | str:
    """A weight as typed (1, 2,5 or 2.5), or the message saying what is wrong with it."""
    text = (text or "").strip().replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return _("Trọng số phải là một số.")
    if not math.isfinite(value) or value < 0 or value > MAX_WEIGHT:
        return _("Trọng số phải từ 0 đến {n}.", n=int(MAX_WEIGHT))
    return value


def save_weights(form) -> None:
    """The admin's new weights (fields weight-<key>) for the city's province; nothing changes
    when one is wrong or all are 0. Every change is audited by the ORM listener."""
    current_scope().require("admin")
    province_id = province_of(Place("city"))
    if province_id is None:
        raise FormInvalid({"weights": _("Chưa có tỉnh, thành phố.")})
    weights, errors = {}, {}
    for c in DEFAULTS:
        value = _weight(form.get(f"weight-{c.key}"))
        if isinstance(value, str):
            errors[f"weight-{c.key}"] = value
        else:
            weights[c.key] = value
    if not errors and not any(weights.values()):
        errors["weights"] = _("Cần ít nhất một tiêu chí có trọng số lớn hơn 0.")
    if errors:
        raise FormInvalid(errors)
    rows = {
        r.key: r
        for r in db.session.scalars(
            select(EmulationCriterion).where(EmulationCriterion.province_id == province_id)
        )
    }
    for c in DEFAULTS:
        row = rows.get(c.key)
        if row is None:  # a province the migration did not seed: its set is written whole
            row = EmulationCriterion(
                province_id=province_id,
                key=c.key,
                label=c.label,
                higher_better=c.higher_better,
                position=c.position,
            )
            db.session.add(row)
        if row.weight != weights[c.key]:
            row.weight = weights[c.key]
            # the log's update then names the criterion, not only its new weight
            flag_modified(row, "label")
    db.session.commit()


# --- the ranking -------------------------------------------------------------------------------


@dataclass
class Cell:
    value: float | None
    score: float  # 0–100: the value against the best among those ranked


@dataclass
class Ranked:
    id: int
    name: str
    cells: list[Cell]
    total: float = 0.0
    rank: int = 0
    mine: bool = False  # the team asked for (a leader's own)


def score(criteria_: list[Criterion], units: list[tuple[int, str, Figures]]) -> list[Ranked]:
    """Rank units on the criteria: scores against the best value, weighted total, shared ranks
    for equal totals; in rank order, then by name."""
    values = {c.key: [VALUES[c.key](f) for _i, _n, f in units] for c in criteria_}
    ranked = [Ranked(uid, name, []) for uid, name, _f in units]
    for c in criteria_:
        known = [v for v in values[c.key] if v is not None]
        best = (max(known) if c.higher_better else min(known)) if known else None
        for row, value in zip(ranked, values[c.key], strict=True):
            if value is None or best is None:
                s = 0.0
            elif c.higher_better:
                s = 100.0 * value / best if best > 0 else 0.0
            else:
                s = 100.0 * best / value if value > 0 else 100.0
            row.cells.append(Cell(value, s))
    weights = sum(c.weight for c in criteria_)
    for row in ranked:
        weighted = sum(c.weight * cell.score for c, cell in zip(criteria_, row.cells, strict=True))
        # rounded so that sums of the same scores in another order tie, as they should
        row.total = round(weighted / weights, 6) if weights else 0.0
    ranked.sort(key=lambda r: (-r.total, vietnamese_key(r.name)))
    for i, row in enumerate(ranked):
        row.rank = ranked[i - 1].rank if i and row.total == ranked[i - 1].total else i + 1
    return ranked


@dataclass
class Ranking:
    place: Place
    title: str  # what is ranked: "Các xã, phường của Thành phố Hà Nội", "Các tổ của Phường …"
    period: Period
    level: str  # communes | teams
    criteria: list[Criterion]
    rows: list[Ranked]
    mine: Ranked | None = None
    ranked: int = 0  # how many were ranked (a leader is shown their own row of them only)

    def page(self, number: int, per_page: int) -> Page:
        start = (max(number, 1) - 1) * per_page
        return Page(self.rows[start : start + per_page], max(number, 1), per_page, len(self.rows))


def ranking(period: Period, place: Place) -> Ranking:
    """The communes of the city, or the teams of the place's commune (a team's place: its
    commune's teams, with the team marked), ranked over the period."""
    commune = Place("commune", place.commune_id) if place.commune_id else Place("city")
    _total, units, _months, _kinds = services.compute(period, commune)
    if commune.level == "city":
        ids = [u for u in units if u is not None]
        names = dict(db.session.execute(select(Area.id, Area.name).where(Area.id.in_(ids))).all())
        city = db.session.scalar(select(Area.name).where(Area.id == province_of(commune)))
        title = _("Các xã, phường của {place}", place=city or _("Toàn thành phố"))
        level = "communes"
    else:
        # the teams as they stood at the period's end (a team dissolved before has no members)
        ids = [u for u, f in units.items() if u is not None and f.teams]
        names = dict(db.session.execute(select(Team.id, Team.name).where(Team.id.in_(ids))).all())
        name = db.session.scalar(select(Area.name).where(Area.id == commune.commune_id))
        title = _("Các tổ của {place}", place=name)
        level = "teams"
    found = criteria(province_of(commune))
    rows = score(found, [(u, names.get(u, "?"), units[u]) for u in ids])
    mine = None
    for row in rows:
        if place.level == "team" and row.id == place.team_id:
            row.mine, mine = True, row
    if current_scope().role == "team_leader":
        # a leader's scope is their team: its rank among the commune's, not the others' figures
        return Ranking(place, title, period, level, found, [mine] if mine else [], mine, len(rows))
    return Ranking(place, title, period, level, found, rows, mine, len(rows))


# --- the page ----------------------------------------------------------------------------------


@dataclass
class EmulationPage:
    asked: dict
    choices: services.Choices
    ranking: Ranking | None
    errors: dict[str, str]
    rows: Page | None = None
    can_edit: bool = False
    weights: dict = field(default_factory=dict)  # the form's weights as typed (after an error)
    weight_errors: dict = field(default_factory=dict)


def page(args, commune_id: int | None, team_id: int | None, number: int = 1) -> EmulationPage:
    """The ranking page for the arguments; a wrong period is shown beside its field."""
    place = services.place_for(commune_id, team_id)
    choices = services.choices_for(place)
    choices.teams = []  # a team is not chosen here: its commune's teams are ranked
    can_edit = current_scope().is_admin
    try:
        period = periods.parse(args, today())
    except FormInvalid as error:
        return EmulationPage(dict(args), choices, None, error.fields, None, can_edit)
    asked = {"commune": place.commune_id, **period.args()}
    if place.level == "team" and current_scope().role != "team_leader":
        asked["team"] = place.team_id
    result = ranking(period, place)
    per_page = current_app.config["PAGE_SIZE"]
    return EmulationPage(asked, choices, result, {}, result.page(number, per_page), can_edit)


def csv_rows(result: Ranking) -> tuple[list[str], list[list]]:
    """The ranking as a table: rank, name, each criterion's value and score, the total."""
    header = [_("Hạng"), _("Xã, phường") if result.level == "communes" else _("Tổ")]
    for c in result.criteria:
        header += [criterion_label(c), _("Điểm: {c}", c=criterion_label(c))]
    header.append(_("Tổng điểm"))
    rows = []
    for r in result.rows:
        line: list = [r.rank, r.name]
        for cell in r.cells:
            value = None if cell.value is None else round(cell.value, 2)
            line += [value, round(cell.score, 1)]
        line.append(round(r.total, 1))
        rows.append(line)
    return header, rows
