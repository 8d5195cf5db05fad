"""Coverage analysis speed: all of Hanoi (≈ 5,400 villages) and a synthetic national set
(≈ 100,000 villages), against the plain unary_union computation of the same answer.

Aims (issue 5): Hanoi under 0.5 s, national under 10 s. Prints its figures last:
    coverage_hanoi villages=… seconds=… baseline_seconds=… baseline_ratio=…
    coverage_national villages=… seconds=… baseline_seconds=… baseline_ratio=…
"""

from __future__ import annotations

import json
import random
import statistics
import time
from pathlib import Path

import shapely
from shapely.geometry import shape

from geo.coverage import Village, analyse, analyse_with_union
from geo.partition import carve_sliver, partition
from portal.config import ROOT

HANOI = ROOT.parent / "shared" / "data" / "hanoi_communes2025_sapnhap.geojson"


def villages_of(commune, n: int, rng: random.Random, relax: int, ids) -> list[Village]:
    parts = partition(commune, n, rng, relax=relax)
    if rng.random() < 0.1 and len(parts) > 2:  # some unmapped slivers, as in real data
        carved = carve_sliver(parts, 0, 0.0003)
        if carved:
            parts[0] = carved[0]
    return [
        Village(next(ids), p, rng.randint(500, 3000), None if rng.random() < 0.01 else 1)
        for p in parts
    ]


def hanoi() -> list[tuple[object, list[Village]]]:
    rng, ids = random.Random(7), iter(range(10**9))
    communes = []
    for feature in json.loads(Path(HANOI).read_text())["features"]:
        commune = shape(feature["geometry"])
        n = 55 if feature["properties"]["fullName"].startswith("Phường") else 35
        communes.append((commune, villages_of(commune, n, rng, 2, ids)))
    return communes


def national(total: int = 100_000, per_commune: int = 33) -> list[tuple[object, list[Village]]]:
    """Communes as Voronoi cells over Vietnam's latitude span, each divided into villages."""
    rng, ids = random.Random(11), iter(range(10**9))
    country = shapely.box(102.5, 8.5, 109.0, 23.0)
    communes = partition(country, total // per_commune, rng, relax=0)
    return [(c, villages_of(c, per_commune, rng, 0, ids)) for c in communes]


def timed(function, data, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for commune, villages in data:
            function(commune, villages)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    lines = []
    for name, build, repeat in (("hanoi", hanoi, 5), ("national", national, 1)):
        start = time.perf_counter()
        data = build()
        built = time.perf_counter() - start
        count = sum(len(v) for _, v in data)
        ours = timed(analyse, data, repeat)
        baseline = timed(analyse_with_union, data, repeat)
        print(f"built {name}: {len(data)} communes, {count} villages in {built:.0f} s")
        lines.append(
            f"coverage_{name} villages={count} seconds={ours:.2f} "
            f"baseline_seconds={baseline:.2f} baseline_ratio={baseline / ours:.1f}"
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
