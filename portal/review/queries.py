"""The review's queries: each returns a select() for the service to execute.

Flows (patrols, items) are summed from the monthly figures for the period's whole months and
from the rows for its other days (portal.models.review). States (teams, members, villages
covered) are read at the period's last day from the rows, which keep their dates.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time

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
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import aliased

from portal.i18n import LOCAL_TZ
from portal.models import (
    Area,
    CoverageCommune,
    CoverageVillage,
    Incident,
    Level,
    Member,
    Patrol,
    PatrolActivity,
    ReviewCommunes,
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
# the flows of the report, as review_communes holds them
FLOWS = (
    "patrols",
    "cancelled",
    "joint",
    "violations",
    "handed",
    "tips",
    "valuable",
    "tips_passed",
    "pass_seconds",
    "team_items",
    "fire",
    "rescue",
)


@dataclass(frozen=True)
class Place:
    """What a review covers: the city (no ids), a commune, or a team (with its commune)."""

    level: str  # city, commune, team
    commune_id: int | None = None
    team_id: int | None = None

    def unit(self, model):
        """The column the review's table breaks the figures down by: the communes of the
        city, the teams of a commune, the team itself."""
        return model.commune_id if self.level == "city" else model.team_id

    def where(self, model):
        """Restrict a model with commune_id and team_id to this place."""
        if self.level == "team":
            return model.team_id == self.team_id
        if self.level == "commune":
            return model.commune_id == self.commune_id
        return literal(True)

    def teams(self):
        """SQL condition on Team: the teams of this place."""
        if self.level == "team":
            return Team.id == self.team_id
        if self.level == "commune":
            return Team.commune_id == self.commune_id
        return literal(True)


def _raw(function, days: tuple[date, date], place: Place, columns: tuple[str, ...]):
    """The figures of some days read from the rows (the SQL functions of migration 0014)."""
    return function(days[0], days[1], place.commune_id, place.team_id).table_valued(*columns)


def _raw_patrols(days, place: Place):
    return _raw(
        func.review_patrols_raw, days, place, ("month", "team_id", "commune_id", *PATROL_FIGURES)
    )


def _raw_incidents(days, place: Place):
    columns = ("month", "commune_id", "team_id", "source", "kind", *INCIDENT_FIGURES)
    return _raw(func.review_incidents_raw, days, place, columns)


def _patrol_flows(rows) -> list:
    """A patrol row's figures in the FLOWS columns."""
    values = {"patrols": rows.done, **{f: rows[f] for f in PATROL_FIGURES if f != "done"}}
    return [
        values.get(f, literal(0.0) if f == "pass_seconds" else literal(0)).label(f) for f in FLOWS
    ]


def _incident_flows(rows) -> list:
    """An item row's figures in the FLOWS columns."""
    tip = rows.source == "tip"
    team = rows.source != "tip"
    values = {
        "tips": case((tip, rows["items"]), else_=0),
        "valuable": case((tip, rows.valuable), else_=0),
        "tips_passed": case((tip, rows.passed), else_=0),
        "pass_seconds": case((tip, rows.pass_seconds), else_=0.0),
        "team_items": case((team, rows["items"]), else_=0),
        "fire": case((and_(team, rows.kind == "fire"), rows["items"]), else_=0),
        "rescue": case((and_(team, rows.kind == "rescue"), rows["items"]), else_=0),
    }
    return [values.get(f, literal(0)).label(f) for f in FLOWS]


def _flow_rows(period: Period, place: Place):
    """Every flow of the period as rows (month, unit, FLOWS...): the stored months and the rows
    of the other days. The city reads the communes' months, a commune or team its teams'."""
    parts = []
    whole = period.whole_months()
    if whole and place.level == "city":
        c = ReviewCommunes
        parts.append(
            select(c.month, c.commune_id.label("unit"), *(getattr(c, f) for f in FLOWS)).where(
                c.month >= whole[0], c.month < whole[1]
            )
        )
    elif whole:
        for model, columns in ((ReviewPatrols, _patrol_flows), (ReviewIncidents, _incident_flows)):
            rows = model.__table__.c
            parts.append(
                select(rows.month, place.unit(rows).label("unit"), *columns(rows))
                .where(rows.month >= whole[0], rows.month < whole[1])
                .where(place.where(rows))
            )
    for days in period.edges():
        for raw, columns in (
            (_raw_patrols(days, place), _patrol_flows),
            (_raw_incidents(days, place), _incident_flows),
        ):
            parts.append(select(raw.c.month, place.unit(raw.c).label("unit"), *columns(raw.c)))
    return union_all(*parts).subquery("flows")


# The statements are kept by their arguments (all immutable): building a statement of unions and
# subqueries, and its cache key, costs SQLAlchemy more than PostgreSQL takes to run it. The
# rows are read anew at every execution; only the statement objects are kept.
kept = functools.lru_cache(maxsize=128)
KEPT: list = []  # every kept builder, for forget_statements()


def keep(builder):
    kept_builder = kept(builder)
    KEPT.append(kept_builder)
    return kept_builder


def forget_statements() -> None:
    """Drop the kept statements (the benchmark reads the same periods from the raw rows)."""
    for builder in KEPT:
        builder.cache_clear()


@keep
def flows(period: Period, place: Place) -> Select:
    """The flows by month and by unit (GROUPING SETS: by_unit tells which row is which)."""
    rows = _flow_rows(period, place)
    return select(
        func.grouping(rows.c.month).label("by_unit"),
        rows.c.month,
        rows.c.unit,
        *(func.sum(rows.c[f]).label(f) for f in FLOWS),
    ).group_by(func.grouping_sets(tuple_(rows.c.month), tuple_(rows.c.unit)))


@keep
def kinds(period: Period, place: Place) -> Select:
    """Items by source and kind over the period."""
    parts = []
    whole = period.whole_months()
    if whole:
        rows = ReviewIncidents.__table__.c
        parts.append(
            select(rows.source, rows.kind, rows["items"], rows.valuable, rows.passed)
            .where(rows.month >= whole[0], rows.month < whole[1])
            .where(place.where(rows))
        )
    for days in period.edges():
        raw = _raw_incidents(days, place)
        parts.append(select(raw.c.source, raw.c.kind, raw.c["items"], raw.c.valuable, raw.c.passed))
    rows = union_all(*parts).subquery("items")
    return select(
        rows.c.source,
        rows.c.kind,
        func.sum(rows.c["items"]).label("items"),
        func.sum(rows.c.valuable).label("valuable"),
        func.sum(rows.c.passed).label("passed"),
    ).group_by(rows.c.source, rows.c.kind)


def _on(start_column, stop_column, day: date):
    """SQL condition: a row whose [start, stop) dates hold `day` (stop NULL: still open)."""
    return and_(start_column <= day, or_(stop_column.is_(None), stop_column > day))


def _team_on(day: date):
    return _on(Team.established_on, Team.dissolved_on, day)


def _serving(day: date):
    return and_(Member.appointment_date <= day, or_(Member.left_on.is_(None), Member.left_on > day))


@keep
def population_rules() -> Select:
    """Whether some province sizes its teams by population (else the villages' population
    need not be read)."""
    return select(exists().where(SizingRule.population_base.is_not(None)))


def teams_on(day: date, place: Place, by_population: bool = True) -> Select:
    """Teams existing on `day`: id, commune, name, serving members (and leaders), villages,
    and the size the province's rule needs (from the population they cover when
    `by_population`)."""
    members = (
        select(
            Member.team_id,
            func.count().label("size"),
            func.count().filter(Member.role == "leader").label("leaders"),
        )
        .where(_serving(day))
        .group_by(Member.team_id)
    )
    if place.level != "city":  # the place's teams only: not the city's members
        members = members.where(Member.team_id.in_(select(Team.id).where(place.teams())))
    members = members.subquery("serving")
    commune = aliased(Area, name="commune")
    minimum = func.coalesce(SizingRule.min_members, HANOI.min_members)
    query = (
        select(
            Team.id,
            Team.commune_id,
            Team.name,
            func.coalesce(members.c.size, 0).label("size"),
            func.coalesce(members.c.leaders, 0).label("leaders"),
        )
        .join(commune, commune.id == Team.commune_id)
        .outerjoin(SizingRule, SizingRule.province_id == commune.parent_id)
        .outerjoin(members, members.c.team_id == Team.id)
        .where(_team_on(day), place.teams())
    )
    if not by_population:
        return query.add_columns(cast(minimum, Integer).label("needed"))
    village = aliased(Area, name="village")
    villages = (
        select(TeamArea.team_id, func.sum(village.population).label("population"))
        .join(village, village.id == TeamArea.area_id)
        .where(_on(TeamArea.valid_from, TeamArea.valid_to, day))
        .group_by(TeamArea.team_id)
        .subquery("covered")
    )
    population = func.coalesce(villages.c.population, 0)
    extra = case(
        (
            and_(SizingRule.population_base.is_not(None), population > SizingRule.population_base),
            func.ceil(
                cast(population - SizingRule.population_base, Numeric) / SizingRule.population_step
            ),
        ),
        else_=0,
    )
    return query.outerjoin(villages, villages.c.team_id == Team.id).add_columns(
        cast(minimum + extra, Integer).label("needed")
    )


@keep
def member_moves(period: Period, place: Place) -> Select:
    """Members who joined and who left a team in the period, by unit."""
    joined = and_(Member.appointment_date >= period.start, Member.appointment_date < period.stop)
    left = and_(Member.left_on >= period.start, Member.left_on < period.stop)
    unit = Team.commune_id if place.level == "city" else Team.id
    return (
        select(
            unit.label("unit"),
            func.count().filter(joined).label("joined"),
            func.count().filter(left).label("left"),
        )
        .join(Team, Team.id == Member.team_id)
        .where(place.teams(), or_(joined, left))
        .group_by(unit)
    )


def villages_on(day: date, place: Place) -> Select:
    """Villages existing on `day` in the place, with the team covering each then (or NULL)."""
    # a team dissolved by then covers nothing, even if its villages' rows were left open
    cover = (
        select(TeamArea.area_id, TeamArea.team_id)
        .join(Team, Team.id == TeamArea.team_id)
        .where(_on(TeamArea.valid_from, TeamArea.valid_to, day), _team_on(day))
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


@keep
def team_states(day: date, place: Place, by_population: bool) -> Select:
    """Teams, serving members, under-staffed and leaderless teams on `day`, by unit."""
    teams = teams_on(day, place, by_population).subquery("teams")
    unit = teams.c.commune_id if place.level == "city" else teams.c.id
    return select(
        unit.label("unit"),
        func.count().label("teams"),
        func.sum(teams.c.size).label("members"),
        func.count().filter(teams.c.size < teams.c.needed).label("understaffed"),
        func.count().filter(teams.c.leaders == 0).label("no_leader"),
    ).group_by(unit)


@keep
def village_states(period: Period, day: date, place: Place) -> Select:
    """Villages on `day`, those with a team, and those not patrolled in the period, by unit."""
    villages = villages_on(day, place).subquery("villages")
    unit = villages.c.commune_id if place.level == "city" else villages.c.team_id
    patrolled_ = patrolled(period, villages.c.id, villages.c.commune_id)
    return select(
        unit.label("unit"),
        func.count().label("villages"),
        func.count(villages.c.team_id).label("covered"),
        func.count().filter(~patrolled_).label("never"),
    ).group_by(unit)


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
        counted = counted.column_valued("area_id", joins_implicitly=True)
        tests.append(
            select(literal(1))
            .select_from(Patrol)
            .where(
                Patrol.commune_id == commune_id,
                Patrol.status == "done",
                Patrol.day >= a,
                Patrol.day < b,
                counted == area_id,
            )
            .exists()
        )
    return or_(*tests)


# --- issue 15: the choropleth map (portal/review/maps.py) ---------------------------------------

# a village's or commune's shape when coverage has not stored one yet: simplified about as
# coverage simplifies at a commune's (villages) or the city's (communes) scale, in degrees
VILLAGE_TOLERANCE = 0.00002
COMMUNE_TOLERANCE = 0.0002


def _shape(stored, geom, tolerance: float):
    """The stored simplified GeoJSON, else the area's geometry simplified here."""
    drawn = func.ST_AsGeoJSON(func.ST_SimplifyPreserveTopology(geom, tolerance), 6)
    return func.coalesce(stored, cast(drawn, JSONB))


@keep
def map_villages(day: date, place: Place, shapes: bool = True) -> Select:
    """The villages the map draws for a commune or a team on `day`: id, name, and the shape
    (or, without `shapes`, when it last changed: what a drawn map is kept by)."""
    villages = villages_on(day, place).subquery("villages")
    drawn = (
        _shape(CoverageVillage.shape, Area.geom, VILLAGE_TOLERANCE)
        if shapes
        else func.greatest(CoverageCommune.computed_at, Area.updated_at)
    )
    return (
        select(villages.c.id, villages.c.name, drawn.label("shape"))
        .join(Area, Area.id == villages.c.id)
        .outerjoin(CoverageVillage, CoverageVillage.area_id == villages.c.id)
        .outerjoin(CoverageCommune, CoverageCommune.commune_id == villages.c.commune_id)
        .where(Area.geom.is_not(None))
    )


def map_communes(commune_ids: list[int], shapes: bool = True) -> Select:
    """The city map's communes: id, name, the outline coverage stored at the city's scale (or,
    without `shapes`, when it last changed)."""
    drawn = (
        _shape(CoverageCommune.outline, Area.geom, COMMUNE_TOLERANCE)
        if shapes
        else func.greatest(CoverageCommune.computed_at, Area.updated_at)
    )
    return (
        select(Area.id, Area.name, drawn.label("shape"))
        .outerjoin(CoverageCommune, CoverageCommune.commune_id == Area.id)
        .where(Area.id.in_(commune_ids), Area.geom.is_not(None))
    )


@keep
def village_patrols(period: Period, commune_id: int) -> Select:
    """Done patrols and their violations per village of a commune over the period: the
    activity per month for whole months, the patrols themselves for the other days (a patrol
    counts in each village it covers, as patrol_activity counts it, whichever team made it)."""
    parts = []
    whole = period.whole_months()
    if whole:
        parts.append(
            select(
                PatrolActivity.area_id,
                PatrolActivity.patrols.label("patrols"),
                PatrolActivity.violations.label("violations"),
            ).where(
                PatrolActivity.commune_id == commune_id,
                PatrolActivity.month >= whole[0],
                PatrolActivity.month < whole[1],
            )
        )
    for a, b in period.edges():
        counted = func.patrol_areas(Patrol.team_id, Patrol.route_version_id, Patrol.day)
        # named with its column: a set-returning function's one column is otherwise named
        # after the alias, and "anon_1.area_id" would not exist
        counted = counted.table_valued("area_id", joins_implicitly=True).render_derived("counted")
        parts.append(
            select(
                counted.c.area_id,
                literal(1).label("patrols"),
                Patrol.violations.label("violations"),
            )
            .select_from(Patrol, counted)
            .where(
                Patrol.commune_id == commune_id,
                Patrol.status == "done",
                Patrol.day >= a,
                Patrol.day < b,
            )
        )
    rows = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("activity")
    return select(
        rows.c.area_id,
        func.sum(rows.c.patrols).label("patrols"),
        func.sum(rows.c.violations).label("violations"),
    ).group_by(rows.c.area_id)


@keep
def village_incidents(period: Period, commune_id: int) -> Select:
    """Tips, valuable tips, fires and rescues per village of a commune over the period, by the
    review's rules (migration 0014): a tip on the local day it was received, a team's item on
    the day it happened, an item merged into another not counted again."""
    lo = datetime.combine(period.start, time(), LOCAL_TZ)
    hi = datetime.combine(period.stop, time(), LOCAL_TZ)
    tip = Incident.source == "tip"
    team = Incident.source != "tip"
    return (
        select(
            Incident.area_id,
            func.count().filter(tip).label("tips"),
            func.count().filter(tip, Incident.valuable.is_(True)).label("valuable"),
            func.count().filter(team, Incident.kind == "fire").label("fire"),
            func.count().filter(team, Incident.kind == "rescue").label("rescue"),
        )
        .where(
            Incident.commune_id == commune_id,
            Incident.area_id.is_not(None),
            Incident.merged_into_id.is_(None),
            or_(
                and_(tip, Incident.received_at >= lo, Incident.received_at < hi),
                and_(team, Incident.occurred_at >= lo, Incident.occurred_at < hi),
            ),
        )
        .group_by(Incident.area_id)
    )
