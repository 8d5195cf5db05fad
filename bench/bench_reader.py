"""What the limited reader costs: an upload read in its confined child process (geo.sandbox)
against the same reading and checking done in this process, as it was before issue 10.

Two files: Hanoi's 126 real communes (9 MB of GeoJSON) and a small file of 5 villages, the
common case, where starting the child is most of the cost. Prints its figures last:
    reader_hanoi features=126 p50_ms=… baseline_p50_ms=… baseline_ratio=…
    reader_small features=5 p50_ms=… baseline_p50_ms=… baseline_ratio=…
"""

from __future__ import annotations

import json
import statistics
import time

import shapely

from geo import sandbox
from geo.readers import Limits, read_file, read_in_child
from portal.config import ROOT

HANOI = ROOT.parent / "shared" / "data" / "hanoi_communes2025_sapnhap.geojson"


def small_file() -> bytes:
    features = []
    for i in range(5):
        x = 105.80 + i * 0.01
        square = shapely.box(x, 21.0, x + 0.01, 21.01)
        features.append(
            {
                "type": "Feature",
                "properties": {"code": f"T{i}", "name": f"Thôn {i}"},
                "geometry": shapely.geometry.mapping(square),
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def timed(function, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return times


def measure(label: str, data: bytes, runs: int) -> str:
    args = {
        "filename": "x.geojson",
        "crs_key": "auto",
        "require_code": True,
        "limits": Limits().__dict__,
        "layer": None,
    }
    sandboxed = read_file(data, "x.geojson")
    direct = read_in_child(data, args, lambda _d, _t: None)
    assert len(sandboxed.features) == len(direct["features"]) and not sandboxed.file_problems
    ours = timed(lambda: read_file(data, "x.geojson"), runs)
    baseline = timed(lambda: read_in_child(data, args, lambda _d, _t: None), runs)
    p50, base = statistics.median(ours), statistics.median(baseline)
    return (
        f"reader_{label} features={len(sandboxed.features)} p50_ms={p50:.0f} "
        f"baseline_p50_ms={base:.0f} baseline_ratio={p50 / base:.2f}"
    )


def main() -> None:
    # the baseline reads in this process, which the portal never does; these files are ours
    sandbox._IN_CHILD = True
    lines = [measure("small", small_file(), 15)]
    if HANOI.exists():
        lines.append(measure("hanoi", HANOI.read_bytes(), 5))
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
