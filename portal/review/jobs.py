"""The review's XLSX as a job (portal.jobs): a city's year reads every commune's figures twice
(this period and the one before), too long for a request."""

from __future__ import annotations

from portal.incidents.filters import today
from portal.jobs.runner import JobContext, handler
from portal.review import exports, periods, services


@handler(exports.JOB_KIND)
def review_xlsx(ctx: JobContext, commune: int | None, team: int | None, period: dict) -> dict:
    """The review of a place and period as an XLSX book kept for the account to download."""
    # the scope again, as the account that asked: it may have lost the commune since
    place = services.place_for(commune, team)
    ctx.step("review")
    r = services.review(periods.parse(period, today()), place)
    ctx.step("review", finished=True)
    body = exports.workbook(r, progress=ctx.progress)
    name = exports.filename(r, "xlsx")
    ctx.output(name, exports.XLSX, body)
    return {"endpoint": "jobs.download", "args": {"job_id": ctx.job_id}, "file": name}
