"""How fast the Hanoi demo loads (issue: under 2 minutes and 2 GB), against a naive loader.

Our seed sends rows in batches (portal.demo.seed.insert_rows); the baseline is the very same
seed with one INSERT per row, the way a simple loader writes. Prints its figures last:
    seed_hanoi seconds=… peak_rss_mb=… villages=… teams=… members=… baseline_ratio=…
"""

from __future__ import annotations

import resource
import time

from common import DEMO_DATA, bench_app, drop, fresh_database
from sqlalchemy import insert

from portal.demo import seed as seed_module
from portal.demo.seed import seed
from portal.extensions import db

batched_insert = seed_module.insert_rows


def insert_one_by_one(model, rows: list[dict]) -> list[int]:
    return [db.session.scalar(insert(model).values(**row).returning(model.id)) for row in rows]


def run(url: str, batched: bool) -> tuple[float, object]:
    seed_module.insert_rows = batched_insert if batched else insert_one_by_one
    with bench_app(url).app_context():
        start = time.perf_counter()
        summary = seed(DEMO_DATA, reset=True, echo=lambda _l: None)
        seconds = time.perf_counter() - start
        db.session.remove()
        db.engine.dispose()
    return seconds, summary


def main() -> None:
    url = fresh_database()
    ours, summary = run(url, batched=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    baseline, _ = run(url, batched=False)
    drop(url)
    print(
        f"seed_hanoi seconds={ours:.1f} peak_rss_mb={peak_mb:.0f} villages={summary.villages} "
        f"teams={summary.teams} members={summary.members} "
        f"baseline_seconds={baseline:.1f} baseline_ratio={baseline / ours:.1f}"
    )


if __name__ == "__main__":
    main()
