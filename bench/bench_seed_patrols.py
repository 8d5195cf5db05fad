"""How fast the demo's year of patrols is generated at Hanoi's scale (issue 12: "in minutes").

A bench database holds the demo of all of Hanoi (portal.demo.seed, from ../shared/data); the
clock runs over portal.demo.patrols.seed_patrols at full scale and its commit: routes for every
team, about 532,000 patrols with their members and findings, and the activity the triggers on
patrols keep. Prints its figures last:
    seed_patrols patrols=… violations=… seconds=… per_second=…
"""

from __future__ import annotations

import resource
import time

from common import DEMO_DATA, analyze, bench_app, drop, fresh_database
from sqlalchemy import func, select

from portal.demo.patrols import seed_patrols
from portal.demo.seed import seed
from portal.extensions import db
from portal.models import PatrolActivity, PatrolMember


def main() -> None:
    url = fresh_database("antt_portal_bench_patrols")
    with bench_app(url).app_context():
        seed(DEMO_DATA, echo=lambda _line: None)
        db.session.commit()
    analyze(url)
    with bench_app(url).app_context():
        start = time.perf_counter()
        summary = seed_patrols(scale=1.0)
        db.session.commit()
        seconds = time.perf_counter() - start
        members = db.session.scalar(select(func.count()).select_from(PatrolMember))
        villages = db.session.scalar(select(func.count(func.distinct(PatrolActivity.area_id))))
        db.session.remove()
        db.engine.dispose()
    drop(url)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"  routes={summary.routes} cancelled={summary.cancelled} planned={summary.planned} "
        f"patrol_members={members} teams_idle={summary.teams_idle} "
        f"villages_patrolled={villages} peak_rss_mb={peak_mb:.0f}"
    )
    print(
        f"seed_patrols patrols={summary.patrols} violations={summary.violations} "
        f"seconds={seconds:.1f} per_second={summary.patrols / seconds:.0f}"
    )


if __name__ == "__main__":
    main()
