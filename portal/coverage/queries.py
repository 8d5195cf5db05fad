"""Queries of the coverage view; each returns a select() the caller executes."""

from __future__ import annotations

from sqlalchemy import Select, and_, case, func, select

from portal.models import (
    Area,
    CoverageCommune,
    CoverageProblem,
    CoverageVillage,
    Job,
    Member,
    Team,
    TeamArea,
)

# --- what the computation reads ------------------------------------------------------------


def villages(commune_ids: list[int]) -> Select:
    """Current villages with their boundary (WKB), people and active team."""
    return (
        select(
            Area.id,
            Area.parent_id,
            Area.name,
            func.ST_AsBinary(Area.geom),
            Area.population,
            TeamArea.team_id,
        )
        .outerjoin(TeamArea, and_(TeamArea.area_id == Area.id, TeamArea.active()))
        .where(Area.parent_id.in_(commune_ids), Area.valid_to.is_(None), Area.level == "village")
        .order_by(Area.parent_id, Area.id)
    )


def current_communes(ids: list[int] | None = None) -> Select:
    """Current communes (all, or those of `ids`) with their outline (WKB), whoever asks: the
    refresh computes derived data for any commune."""
    outline = func.ST_AsBinary(Area.geom)
    query = select(Area.id, Area.parent_id, Area.code, Area.name, outline).where(
        Area.level == "commune", Area.valid_to.is_(None)
    )
    if ids is not None:
        query = query.where(Area.id.in_(ids))
    return query.order_by(Area.code)


def outline_bounds(area_ids: list[int]) -> Select:
    """Each area's bounding box (the provinces': the scale of the city map)."""
    box = func.Box2D(Area.geom)
    return select(
        Area.id, func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box)
    ).where(Area.id.in_(area_ids))


def teams(commune_ids: list[int]) -> Select:
    """Active teams with their serving members and leaders counted."""
    serving = and_(Member.team_id == Team.id, Member.left_on.is_(None))
    size = select(func.count()).where(serving).correlate(Team).scalar_subquery()
    leaders = (
        select(func.count())
        .where(serving, Member.role == "leader")
        .correlate(Team)
        .scalar_subquery()
    )
    return select(Team.id, Team.commune_id, Team.name, size, leaders).where(
        Team.commune_id.in_(commune_ids), Team.dissolved_on.is_(None)
    )


def communes_of_areas(area_ids: list[int]) -> Select:
    """The communes whose coverage the areas concern: a village's commune, a commune itself."""
    commune = case(
        (Area.level == "village", Area.parent_id), (Area.level == "commune", Area.id), else_=None
    )
    return select(commune).where(Area.id.in_(area_ids)).distinct()


# --- what the pages read -------------------------------------------------------------------

FIGURES = (
    CoverageCommune.computed_at,
    CoverageCommune.stale_since,
    CoverageCommune.valid_coverage,
    CoverageCommune.villages,
    CoverageCommune.villages_with_team,
    CoverageCommune.population,
    CoverageCommune.population_with_team,
    CoverageCommune.land_m2,
    CoverageCommune.land_mapped_m2,
    CoverageCommune.counts,
    CoverageCommune.west,
    CoverageCommune.south,
    CoverageCommune.east,
    CoverageCommune.north,
)


def commune_figures(commune_id: int | None) -> Select:
    """Current communes with their stored figures (none for a commune not computed yet), in
    code order; the caller restricts it to the reader's scope."""
    query = (
        select(Area.id, Area.code, Area.name, *FIGURES)
        .outerjoin(CoverageCommune, CoverageCommune.commune_id == Area.id)
        .where(Area.level == "commune", Area.valid_to.is_(None))
        .order_by(Area.code)
    )
    if commune_id is not None:
        query = query.where(Area.id == commune_id)
    return query


# a problem's name as it is now: renaming a village or a team changes no figure, so it needs
# no refresh (the stored name stays for overlaps, which name two villages)
_village = Area.__table__.alias("problem_village")
_team = Team.__table__.alias("problem_team")
PROBLEM_COLUMNS = (
    CoverageProblem.commune_id,
    CoverageProblem.kind,
    func.coalesce(_team.c.name, _village.c.name, CoverageProblem.name).label("name"),
    CoverageProblem.members,
    CoverageProblem.population,
    CoverageProblem.area_m2,
    CoverageProblem.west,
    CoverageProblem.south,
    CoverageProblem.east,
    CoverageProblem.north,
    CoverageProblem.area_id,
    CoverageProblem.team_id,
)


def problems(commune_ids: list[int], kind: str = "", only: int | None = None) -> Select:
    """Stored problems of the communes, the most people first, then the largest land; ties in
    the order of communes (by code) and of each commune's own list, as computed."""
    query = (
        select(*PROBLEM_COLUMNS, Area.name.label("commune"))
        .join(Area, Area.id == CoverageProblem.commune_id)
        .outerjoin(_village, _village.c.id == CoverageProblem.area_id)
        .outerjoin(_team, _team.c.id == CoverageProblem.team_id)
        .where(CoverageProblem.commune_id.in_(commune_ids))
        .order_by(
            func.coalesce(CoverageProblem.population, 0).desc(),
            func.coalesce(CoverageProblem.area_m2, 0).desc(),
            Area.code,
            CoverageProblem.position,
        )
    )
    if kind:
        query = query.where(CoverageProblem.kind == kind)
    if only:
        query = query.where(CoverageProblem.commune_id == only)
    return query


def gaps(commune_ids: list[int]) -> Select:
    """Stored unmapped land of the communes (WKB), by commune code, the largest first."""
    return (
        select(
            CoverageProblem.commune_id,
            Area.name,
            Area.code,
            CoverageProblem.area_m2,
            func.ST_AsBinary(CoverageProblem.geom),
            CoverageCommune.computed_at,
        )
        .join(Area, Area.id == CoverageProblem.commune_id)
        .join(CoverageCommune, CoverageCommune.commune_id == CoverageProblem.commune_id)
        .where(CoverageProblem.commune_id.in_(commune_ids), CoverageProblem.kind == "unmapped")
        .order_by(Area.code, CoverageProblem.position)
    )


def outlines(commune_ids: list[int]) -> Select:
    """The city map's stored outlines with each commune's name and share of villages."""
    return (
        select(
            CoverageCommune.commune_id,
            Area.name,
            CoverageCommune.outline,
            CoverageCommune.villages,
            CoverageCommune.villages_with_team,
        )
        .join(Area, Area.id == CoverageCommune.commune_id)
        .where(CoverageCommune.commune_id.in_(commune_ids), CoverageCommune.outline.is_not(None))
        .order_by(Area.code)
    )


def _villages() -> Select:
    """Stored villages: id, the name as it is now, stored status and outline."""
    return select(
        CoverageVillage.area_id,
        func.coalesce(Area.name, CoverageVillage.name),
        CoverageVillage.status,
        CoverageVillage.shape,
    ).outerjoin(Area, Area.id == CoverageVillage.area_id)


def village_statuses(commune_id: int) -> Select:
    """The commune map's villages: id, the name as it is now, stored status and outline."""
    return (
        _villages()
        .where(CoverageVillage.commune_id == commune_id)
        .order_by(CoverageVillage.area_id)
    )


def village_names(commune_id: int) -> Select:
    """The names village_statuses gives, in its order, without the outlines."""
    return village_statuses(commune_id).with_only_columns(
        func.coalesce(Area.name, CoverageVillage.name), maintain_column_froms=True
    )


def unmapped_shapes(commune_id: int) -> Select:
    return (
        select(CoverageProblem.shape)
        .where(
            CoverageProblem.commune_id == commune_id,
            CoverageProblem.kind == "unmapped",
            CoverageProblem.shape.is_not(None),
        )
        .order_by(CoverageProblem.position)
    )


def refresh_jobs() -> Select:
    """Coverage refreshes waiting or running, the oldest first."""
    return (
        select(Job.id, Job.status, Job.params, Job.created_by)
        .where(Job.kind == "coverage.refresh", Job.status.in_(("queued", "running")))
        .order_by(Job.id)
    )
