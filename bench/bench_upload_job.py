"""An upload too large for a request, as a job: 20,000 villages of 33 vertices (the issue's case),
read, checked, compared and kept as a dry run by the job a worker runs, then committed by a
second job. The baseline is the least any reading can cost: the same GeoJSON parsed by json and
Shapely in this process, with no checks. Prints its figures last:
    upload_job features=20000 vertices=33 seconds=… baseline_seconds=… baseline_ratio=…
    commit_job features=20000 seconds=… baseline_seconds=… baseline_ratio=…
"""

from __future__ import annotations

import json
import math
import sys
import time

import shapely
from common import DEMO_DATA, bench_app, drop, fresh_database
from sqlalchemy import func, select

from portal.demo.seed import seed
from portal.extensions import db
from portal.jobs import runner, services
from portal.models import Account, Area, ImportBatch, Job

FEATURES = 20_000
VERTICES = 33  # 32 around a circle, and the closing one


def village_file(centre: tuple[float, float]) -> bytes:
    """A grid of small round villages, 33 vertices each, a few metres apart."""
    features = []
    side = math.ceil(math.sqrt(FEATURES))
    for i in range(FEATURES):
        x = centre[0] + (i % side) * 0.00012
        y = centre[1] + (i // side) * 0.00012
        ring = [
            (
                x + 0.00005 * math.cos(2 * math.pi * k / 32),
                y + 0.00005 * math.sin(2 * math.pi * k / 32),
            )
            for k in range(32)
        ]
        ring.append(ring[0])
        features.append(
            {
                "type": "Feature",
                "properties": {"code": f"B-{i:05}", "name": f"Thôn Thử {i}"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def baseline(data: bytes) -> float:
    started = time.perf_counter()
    doc = json.loads(data)
    shapes = [shapely.geometry.shape(f["geometry"]) for f in doc["features"]]
    assert len(shapes) == FEATURES
    return time.perf_counter() - started


def run_job(job_id: int) -> tuple[float, Job]:
    started = time.perf_counter()
    runner.execute(job_id)  # what the worker does: one transaction, progress on the side
    elapsed = time.perf_counter() - started
    return elapsed, services.reload(job_id)


def main() -> None:
    url = fresh_database("antt_portal_bench_jobs")
    app = bench_app(url)
    app.config["JOBS_INLINE"] = False
    try:
        with app.app_context():
            seed(DEMO_DATA, limit_communes=1, echo=lambda _line: None)
            admin = db.session.scalar(select(Account).where(Account.username == "quantri"))
            commune = db.session.scalar(select(Area).where(Area.level == "commune"))
            point = db.session.scalar(select(func.ST_AsText(func.ST_Centroid(commune.geom))))
            x, y = (float(v) for v in point.removeprefix("POINT(").rstrip(")").split())
            data = village_file((x - 0.008, y - 0.008))
            print(f"file: {len(data) / 1e6:.1f} MB, {FEATURES} features", file=sys.stderr)
            job = services.submit(
                "boundaries.upload",
                {"level": "village", "parent_id": commune.id, "crs_key": "auto", "layer": None},
                "bench.geojson",
                files=[("bench.geojson", "application/geo+json", data)],
                account_id=admin.id,
                actor=admin.username,
                run=False,
            )
            upload_seconds, upload = run_job(job.id)
            assert upload.status == "done", upload.message
            batch = db.session.get(ImportBatch, upload.result["batch_id"])
            assert batch.feature_count == FEATURES and batch.error_count == 0
            commit = services.submit(
                "boundaries.commit",
                {
                    "batch_id": upload.result["batch_id"],
                    "mode": "all",
                    "repairs": True,
                    "number": "1/QĐ",
                    "when": "2026-11-01",
                },
                "bench.geojson",
                account_id=admin.id,
                actor=admin.username,
                run=False,
            )
            commit_seconds, committed = run_job(commit.id)
            assert committed.status == "done", committed.message
            assert committed.counts["write"] == FEATURES
            written = select(func.count()).select_from(Area).where(Area.code.startswith("B-"))
            assert db.session.scalar(written) == FEATURES
            base = min(baseline(data) for _ in range(3))
            db.session.remove()
            db.engine.dispose()
    finally:
        drop(url)
    print(
        f"upload_job features={FEATURES} vertices={VERTICES} seconds={upload_seconds:.1f}"
        f" baseline_seconds={base:.2f} baseline_ratio={upload_seconds / base:.1f}"
    )
    print(
        f"commit_job features={FEATURES} seconds={commit_seconds:.1f}"
        f" baseline_seconds={base:.2f} baseline_ratio={commit_seconds / base:.1f}"
    )


if __name__ == "__main__":
    main()
