"""Which areas hold a point, answered in memory: an STRtree over the areas' subdivided parts.

The same answer as the database's look-up (portal.lookup.queries.areas_at): every area one of
whose parts *intersects* the point, so that a point on a shared border (or on a part's own
cut line) belongs to each area touching it; deepest level first (village, then district,
commune, province), ties by id. Pure: no Flask, no database; the caller hands it the parts.

Memory: the parts are kept as WKB (16 bytes a vertex) and the tree over their boxes;
`wkb_bytes` says how much was loaded, so that the caller can state and bound what a worker
holds (portal.lookup.index).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

import numpy as np
import shapely

# as queries.DEPTH: province 0, district 1, commune 2, anything deeper (village) 3
DEPTHS = {"province": 0, "district": 1, "commune": 2}


def depth(level: str) -> int:
    return DEPTHS.get(level, 3)


class Hit(NamedTuple):
    """An area holding the point, as the database query's rows: (id, level, name)."""

    id: int
    level: str
    name: str


class PointIndex:
    """An immutable index of the parts of current areas.

    parts: polygons (shapely geometries, or WKB bytes); part_areas: each part's area id;
    areas: {area id: (level, name)} of the current areas (a part whose area is missing is left
    out, as the database's join on current areas leaves it out).

    Compact: each part is kept as its WKB (16 bytes a vertex) and the tree holds only the
    parts' boxes; a query parses the few parts whose box holds the point (a village's, its
    commune's and its province's pieces, each at most 256 vertices) and tests them exactly.
    GEOS polygons kept whole would weigh about four times more.
    """

    def __init__(
        self,
        parts: Iterable,
        part_areas: Iterable[int],
        areas: Mapping[int, tuple[str, str]],
    ):
        parts = list(parts)
        if parts and not isinstance(parts[0], (bytes, bytearray, memoryview)):
            parts = list(shapely.to_wkb(np.asarray(parts, dtype=object)))
        wkb = np.empty(len(parts), dtype=object)
        wkb[:] = [bytes(p) for p in parts]
        del parts
        owners = np.fromiter(part_areas, dtype=np.int64, count=len(wkb))
        keep = np.fromiter((int(a) in areas for a in owners), dtype=bool, count=len(owners))
        self._wkb = wkb[keep]
        self._owners = owners[keep]
        # the boxes and the vertex count, parsing a slice at a time (the polygons are not kept)
        bounds, self.vertices = np.empty((len(self._wkb), 4)), 0
        for start in range(0, len(self._wkb), 10_000):
            shapes = shapely.from_wkb(self._wkb[start : start + 10_000])
            bounds[start : start + len(shapes)] = shapely.bounds(shapes)
            self.vertices += int(shapely.get_num_coordinates(shapes).sum())
        self._tree = shapely.STRtree(shapely.box(*bounds.T))
        # per area: (sort key, hit), so that an answer is sorted without looking anything up
        self._areas = {
            int(i): ((-depth(level), int(i)), Hit(int(i), level, name))
            for i, (level, name) in areas.items()
        }
        self.wkb_bytes = int(sum(len(w) for w in self._wkb))

    def __len__(self) -> int:
        return len(self._wkb)

    @property
    def areas(self) -> int:
        return len(self._areas)

    def areas_at(self, lon: float, lat: float) -> list[Hit]:
        """The areas holding (lon, lat), deepest first, then by id; [] outside every one."""
        point = shapely.Point(lon, lat)
        boxed = self._tree.query(point)
        if not len(boxed):
            return []
        inside = shapely.intersects(shapely.from_wkb(self._wkb[boxed]), point)
        owners = set(self._owners[boxed[inside]].tolist())
        return [entry[1] for entry in sorted(self._areas[a] for a in owners)]
