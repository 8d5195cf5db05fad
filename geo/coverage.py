"""Coverage analysis of one commune (or any parent): which land no village covers, which
villages overlap, which have no team, and the shares covered; in Shapely, no database.

Village polygons of a commune are meant to form a *coverage*: no overlaps, edges that match.
When they do, Shapely's coverage operations are exact and fast; when they do not, the result
says so (valid_coverage False, with the edges at fault) and falls back to a general union.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import shapely
from shapely.geometry.base import BaseGeometry

from geo.checks import area_m2

MIN_PIECE_M2 = 1.0  # pieces smaller than this are rounding noise, not land


@dataclass(frozen=True)
class Village:
    id: int
    geom: BaseGeometry
    population: int | None = None
    team_id: int | None = None  # the active team covering it, if any


@dataclass(frozen=True)
class Piece:
    """A piece of land the analysis found: unmapped land, or an overlap of two villages."""

    geom: BaseGeometry
    area_m2: float
    ids: tuple[int, ...] = ()  # the villages concerned (overlaps)


class Shares:
    """The shares a coverage report shows, from its counts (a commune's, or a city's totals)."""

    villages: int
    villages_with_team: int
    population: int
    population_with_team: int
    land_m2: float
    land_mapped_m2: float

    @property
    def share_villages(self) -> float:
        return self.villages_with_team / self.villages if self.villages else 0.0

    @property
    def share_population(self) -> float:
        return self.population_with_team / self.population if self.population else 0.0

    @property
    def share_land(self) -> float:
        return self.land_mapped_m2 / self.land_m2 if self.land_m2 else 0.0


@dataclass
class Coverage(Shares):
    valid_coverage: bool
    invalid_edges: BaseGeometry | None
    without_team: list[int] = field(default_factory=list)
    unmapped: list[Piece] = field(default_factory=list)
    overlaps: list[Piece] = field(default_factory=list)
    villages: int = 0
    villages_with_team: int = 0
    population: int = 0
    population_with_team: int = 0
    land_m2: float = 0.0
    land_mapped_m2: float = 0.0


def _pieces(geom: BaseGeometry) -> list[BaseGeometry]:
    return [
        g for g in getattr(geom, "geoms", [geom]) if g.geom_type == "Polygon" and not g.is_empty
    ]


def analyse(parent: BaseGeometry, villages: list[Village]) -> Coverage:
    """Coverage of `parent` by its villages and their teams."""
    geoms = [v.geom for v in villages]
    valid = bool(geoms) and bool(shapely.coverage_is_valid(geoms))
    result = Coverage(valid_coverage=valid, invalid_edges=None, villages=len(villages))
    if geoms and valid:
        union = shapely.coverage_union_all(geoms)
    elif geoms:
        edges = shapely.coverage_invalid_edges(geoms)
        result.invalid_edges = shapely.union_all([e for e in edges if not e.is_empty])
        union = shapely.union_all(geoms)
        result.overlaps = _overlaps(villages)
    else:
        union = shapely.Polygon()
    return _tally(result, parent, union, villages)


def _tally(result: Coverage, parent, union, villages: list[Village]) -> Coverage:
    """Unmapped land (parent minus the union), land shares, villages and people with a team."""
    for piece in _unmapped(parent, union):
        size = area_m2(piece)
        if size >= MIN_PIECE_M2:
            result.unmapped.append(Piece(piece, size))
    result.unmapped.sort(key=lambda p: -p.area_m2)
    result.land_m2 = area_m2(parent)
    result.land_mapped_m2 = result.land_m2 - sum(p.area_m2 for p in result.unmapped)
    for village in villages:
        people = village.population or 0
        result.population += people
        if village.team_id is None:
            result.without_team.append(village.id)
        else:
            result.villages_with_team += 1
            result.population_with_team += people
    return result


def _unmapped(parent: BaseGeometry, union: BaseGeometry) -> list[BaseGeometry]:
    # The overlay of two shapes that share thousands of boundary vertices is the slow part; a
    # union as large as its parent, over the same extent, leaves nothing to find, so skip it.
    # (Villages sticking out of the commune are caught when they are entered: outside_parent.)
    same_area = abs(parent.area - union.area) <= 1e-9 * parent.area
    same_extent = all(abs(a - b) <= 1e-9 for a, b in zip(parent.bounds, union.bounds, strict=True))
    if same_area and same_extent:
        return []
    return _pieces(parent.difference(union))


def _overlaps(villages: list[Village]) -> list[Piece]:
    geoms = [v.geom for v in villages]
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    found = []
    for i, j in zip(left, right, strict=True):
        if i >= j:
            continue
        common = geoms[i].intersection(geoms[j])
        for piece in _pieces(common):
            size = area_m2(piece)
            if size >= MIN_PIECE_M2:
                found.append(Piece(piece, size, (villages[i].id, villages[j].id)))
    return sorted(found, key=lambda p: -p.area_m2)


def analyse_with_union(parent: BaseGeometry, villages: list[Village]) -> Coverage:
    """The same answer by a plain unary_union and pairwise intersections: the benchmark's
    baseline, and a cross-check in the tests."""
    geoms = [v.geom for v in villages]
    union = shapely.unary_union(geoms) if geoms else shapely.Polygon()
    result = Coverage(valid_coverage=True, invalid_edges=None, villages=len(villages))
    result.overlaps = _overlaps(villages)
    result.valid_coverage = not result.overlaps
    return _tally(result, parent, union, villages)
