"""Which areas hold a point, answered in memory: an STRtree over the areas' subdivided parts.

The same answer as the database's look-up (portal.lookup.queries.areas_at): every area one of
whose parts *intersects* the point, so that a point on a shared border (or on a part's own
cut line) belongs to each area touching it; deepest level first (village, then district,
commune, province), ties by id. Pure: no Flask, no database; the caller hands it the parts.

Memory: the parts are kept as GEOS polygons (about 16 bytes a vertex plus ~200 bytes a part)
and the tree over their envelopes; `vertices` says how many were loaded, so that the caller
can state and bound what a worker holds (portal.lookup.index).
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
    """

    def __init__(
        self,
        parts: Iterable,
        part_areas: Iterable[int],
        areas: Mapping[int, tuple[str, str]],
    ):
        parts = list(parts)
        if parts and isinstance(parts[0], (bytes, bytearray, memoryview)):
            parts = shapely.from_wkb(np.array([bytes(p) for p in parts], dtype=object))
        geometries = np.asarray(parts, dtype=object)
        owners = np.fromiter(part_areas, dtype=np.int64, count=len(geometries))
        keep = np.fromiter((int(a) in areas for a in owners), dtype=bool, count=len(owners))
        self._parts = geometries[keep]
        self._owners = owners[keep]
        shapely.prepare(self._parts)  # a point test on a prepared polygon: no re-indexing
        self._tree = shapely.STRtree(self._parts)
        # per area: (sort key, hit), so that an answer is sorted without looking anything up
        self._areas = {
            int(i): ((-depth(level), int(i)), Hit(int(i), level, name))
            for i, (level, name) in areas.items()
        }
        self.vertices = int(shapely.get_num_coordinates(self._parts).sum()) if len(self) else 0

    def __len__(self) -> int:
        return len(self._parts)

    @property
    def areas(self) -> int:
        return len(self._areas)

    def areas_at(self, lon: float, lat: float) -> list[Hit]:
        """The areas holding (lon, lat), deepest first, then by id; [] outside every one."""
        found = self._tree.query(shapely.Point(lon, lat), predicate="intersects")
        if not len(found):
            return []
        owners = set(self._owners[found].tolist())
        return [entry[1] for entry in sorted(self._areas[a] for a in owners)]
