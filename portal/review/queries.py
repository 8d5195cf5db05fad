"""The review's queries: each returns a select() for the service to execute.

Flows (patrols, items) are summed from the monthly figures for the period's whole months and
from the rows for its other days (portal.models.review). States (teams, members, villages
covered) are read at the period's last day from the rows, which keep their dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    Integer,
    Numeric,
    Select,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.orm import aliased

from portal.models import (
    Area,
    Level,
    Member,
    Patrol,
    PatrolActivity,
    ReviewIncidents,
    ReviewPatrols,
    SizingRule,
    Team,
    TeamArea,
)
from portal.review.periods import Period
from portal.teams.rules import HANOI

PATROL_FIGURES = ("done", "cancelled", "joint", "violations", "handed")
INCIDENT_FIGURES = ("items", "valuable", "passed", "pass_seconds", "handed")


def _team_column(model):
    """A row's team: `team_id`, or a team's own `id` (teams_on and member_moves place Team)."""
    return model.team_id if hasattr(model, "team_id") else model.id


@dataclass(frozen=True)
class Place:
    """What a review covers: the city (no ids), a commune, or a team (with its commune)."""

    level: str  # city, commune, team
    commune_id: int | None = None
    team_id: int | None = None

    def unit(self, model):
        """The column the review's table breaks the figures down by: the communes of the
        city, the teams of a commune, the team itself."""
        return model.commune_id if self.level == "city" else _team_column(model)

    def where(self, model):
        """Restrict a model with commune_id and team_id to this place."""
        if self.level == "team":
            return _team_column(model) == self.team_id
        if self.level == "commune":
            return model.commune_id == self.commune_id
        return literal(True)


def _raw(function, period_range: tuple[date, date], place: Place, columns: tuple[str, ...]):
    a, b = period_range
    return function(a, b, place.commune_id, place.team_id).table_valued(*columns)


def _flows(model, raw_function, raw_columns, figures, period: Period, place: Place):
    """The stored whole months and the raw other days of one kind of flow, as one subquery
    with the same columns."""
    keys = [c for c in raw_columns if c not in figures]
    parts = []
    whole = period.whole_months()
    if whole:
        parts.append(
            select(*(getattr(model, c) for c in keys), *(getattr(model, c) for c in figures))
            .where(model.month >= whole[0], model.month < whole[1])
            .where(place.where(model))
        )
    for edge in period.edges():
        raw = _raw(raw_function, edge, place, raw_columns)
        parts.append(select(*(raw.c[c] for c in keys), *(raw.c[c] for c in figures)))
    return (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("flows")


def patrol_flows(period: Period, place: Place) -> Select:
    """Patrol figures by month and by unit (GROUPING SETS: `by_month` tells which row is
    which)."""
    rows = _flows(
        ReviewPatrols,
        func.review_patrols_raw,
        ("month", "team_id", "commune_id", *PATROL_FIGURES),
        PATROL_FIGURES,
        period,
        place,
    )
    unit = place.unit(rows.c)
    return select(
        func.grouping(rows.c.month).label("by_unit"),
        rows.c.month,
        unit.label("unit"),
        *(func.sum(rows.c[f]).label(f) for f in PATROL_FIGURES),
    ).group_by(func.grouping_sets(tuple_(rows.c.month), tuple_(unit)))


def incident_flows(period: Period, place: Place) -> Select:
    """Item figures by (month, source, kind) and by (unit, source, kind)."""
    rows = _flows(
        ReviewIncidents,
        func.review_incidents_raw,
        ("month", "commune_id", "team_id", "source", "kind", *INCIDENT_FIGURES),
        INCIDENT_FIGURES,
        period,
        place,
    )
    unit = place.unit(rows.c)
    return select(
        func.grouping(rows.c.month).label("by_unit"),
        rows.c.month,
        unit.label("unit"),
        rows.c.source,
        rows.c.kind,
        *(func.sum(rows.c[f]).label(f) for f in INCIDENT_FIGURES),
    ).group_by(
        func.grouping_sets(
            tuple_(rows.c.month, rows.c.source, rows.c.kind),
            tuple_(unit, rows.c.source, rows.c.kind),
        )
    )


def _on(start_column, stop_column, day: date):
    """SQL condition: a row whose [start, stop) dates hold `day` (stop NULL: still open)."""
    return and_(start_column <= day, or_(stop_column.is_(None), stop_column > day))


def _team_on(day: date):
    return _on(Team.established_on, Team.dissolved_on, day)


def _serving(day: date):
    return and_(Member.appointment_date <= day, or_(Member.left_on.is_(None), Member.left_on > day))


def teams_on(day: date, place: Place) -> Select:
    """Teams existing on `day`: id, commune, name, serving members (and leaders), villages,
    the population they cover and the size the province's rule needs."""
    members = (
        select(
            Member.team_id,
            func.count().label("size"),
            func.count().filter(Member.role == "leader").label("leaders"),
        )
        .where(_serving(day))
        .group_by(Member.team_id)
        .subquery("serving")
    )
    village = aliased(Area, name="village")
    villages = (
        select(
            TeamArea.team_id,
            func.count().label("villages"),
            func.sum(village.population).label("population"),
        )
        .join(village, village.id == TeamArea.area_id)
        .where(_on(TeamArea.valid_from, TeamArea.valid_to, day))
        .group_by(TeamArea.team_id)
        .subquery("covered")
    )
    commune = aliased(Area, name="commune")
    population = func.coalesce(villages.c.population, 0)
    minimum = func.coalesce(SizingRule.min_members, HANOI.min_members)
    extra = case(
        (
            and_(SizingRule.population_base.is_not(None), population > SizingRule.population_base),
            func.ceil(
                cast(population - SizingRule.population_base, Numeric) / SizingRule.population_step
            ),
        ),
        else_=0,
    )
    return (
        select(
            Team.id,
            Team.commune_id,
            Team.name,
            func.coalesce(members.c.size, 0).label("size"),
            func.coalesce(members.c.leaders, 0).label("leaders"),
            func.coalesce(villages.c.villages, 0).label("villages"),
            cast(minimum + extra, Integer).label("needed"),
        )
        .join(commune, commune.id == Team.commune_id)
        .outerjoin(SizingRule, SizingRule.province_id == commune.parent_id)
        .outerjoin(members, members.c.team_id == Team.id)
        .outerjoin(villages, villages.c.team_id == Team.id)
        .where(_team_on(day), place.where(Team))
    )


def member_moves(period: Period, place: Place) -> Select:
    """Members who joined and who left a team in the period, by unit."""
    team = aliased(Team, name="t")
    joined = and_(Member.appointment_date >= period.start, Member.appointment_date < period.stop)
    left = and_(Member.left_on >= period.start, Member.left_on < period.stop)
    unit = place.unit(team)
    return (
        select(
            unit.label("unit"),
            func.count().filter(joined).label("joined"),
            func.count().filter(left).label("left"),
        )
        .join(team, team.id == Member.team_id)
        .where(place.where(team), or_(joined, left))
        .group_by(unit)
    )


def villages_on(day: date, place: Place) -> Select:
    """Villages existing on `day` in the place, with the team covering each then (or NULL)."""
    cover = (
        select(TeamArea.area_id, TeamArea.team_id)
        .where(_on(TeamArea.valid_from, TeamArea.valid_to, day))
        .subquery("cover")
    )
    query = (
        select(
            Area.id,
            Area.name,
            Area.parent_id.label("commune_id"),
            cover.c.team_id,
        )
        .outerjoin(cover, cover.c.area_id == Area.id)
        .where(Area.level == Level.VILLAGE, _on(Area.valid_from, Area.valid_to, day))
    )
    if place.level == "team":
        return query.where(cover.c.team_id == place.team_id)
    if place.level == "commune":
        return query.where(Area.parent_id == place.commune_id)
    return query


def patrolled(period: Period, area_id, commune_id):
    """SQL condition: some done patrol counted for the village in the period (the activity
    per month for whole months, the patrols themselves for the other days)."""
    tests = []
    whole = period.whole_months()
    if whole:
        tests.append(
            exists().where(
                PatrolActivity.area_id == area_id,
                PatrolActivity.month >= whole[0],
                PatrolActivity.month < whole[1],
                PatrolActivity.patrols > 0,
            )
        )
    for a, b in period.edges():
        # the villages a done patrol counts for, as patrol_activity's trigger reads them
        counted = func.patrol_areas(Patrol.team_id, Patrol.route_version_id, Patrol.day)
        counted = counted.table_valued("area_id", joins_implicitly=True)
        tests.append(
            exists()
            .select_from(Patrol, counted)
            .where(
                Patrol.commune_id == commune_id,
                Patrol.status == "done",
                Patrol.day >= a,
                Patrol.day < b,
                counted.c.area_id == area_id,
            )
        )
    return or_(*tests)
