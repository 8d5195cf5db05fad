"""The coverage refresh as a job (portal.jobs): recompute communes and store the results, in
one transaction, with progress per commune.

Whoever asked (a team leader who changed members, say), the job computes the communes it was
given: it reads villages, teams and members only to write derived figures, and shows nothing
to the one who asked; each coverage page then shows a reader only the communes in their scope.
"""

from __future__ import annotations

from portal.coverage import services
from portal.extensions import db
from portal.jobs.runner import JobContext, handler
from portal.models import Account


@handler(services.JOB_KIND)
def refresh(ctx: JobContext, commune_ids: list[int] | None = None) -> dict:
    """Recompute these communes (all current ones when None)."""
    count = services.refresh(commune_ids, progress=ctx.progress)
    result: dict = {"communes": count}
    if _may_read_coverage(ctx.account_id):
        # the job's page offers the coverage page once done (not to a team leader: 404 there)
        single = commune_ids is not None and len(commune_ids) == 1
        result["endpoint"] = "coverage.commune" if single else "coverage.city"
        result["args"] = {"commune_id": commune_ids[0]} if single else {}
    return result


def _may_read_coverage(account_id: int | None) -> bool:
    account = db.session.get(Account, account_id) if account_id else None
    return account is not None and account.role in ("admin", "commune_officer")
