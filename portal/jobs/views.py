"""A job's page, with its progress polled by HTMX, the list of one's recent jobs, and what a
job made (an export) to download."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for

from portal.downloads import attachment
from portal.extensions import htmx
from portal.i18n import label
from portal.jobs import services
from portal.security import protect_blueprint
from portal.web import page_arg

bp = Blueprint("jobs", __name__, url_prefix="/jobs")
protect_blueprint(bp)
bp.add_app_template_global(lambda k: label(services.KIND_LABELS, k), "job_kind")
bp.add_app_template_global(lambda s: label(services.STAGE_LABELS, s), "job_stage")
bp.add_app_template_global(lambda s: label(services.STATUS_LABELS, s), "job_status")


def result_url(job) -> str | None:
    """Where the user goes once the job is done: what it made."""
    result = job.result or {}
    if job.status != "done" or "endpoint" not in result:
        return None
    return url_for(result["endpoint"], **result.get("args", {}))


bp.add_app_template_global(result_url, "job_result_url")


@bp.get("/")
def index():
    jobs = services.recent(page_arg())
    if htmx and htmx.target == "jobs":
        return render_template("jobs/_list.html", jobs=jobs)
    return render_template("jobs/index.html", jobs=jobs)


@bp.get("/<int:job_id>")
def show(job_id: int):
    job = services.get(job_id)
    if htmx and htmx.target == f"job-{job.id}":
        response = render_template("jobs/_status.html", job=job)
        target = result_url(job)
        if target and job.result.get("follow"):
            # the user waited on this page for the result: take them to it
            return response, 200, {"HX-Redirect": target}
        return response
    return render_template("jobs/page.html", job=job)


@bp.get("/<int:job_id>/file")
def download(job_id: int):
    found = services.output(job_id)
    return attachment(found.data, found.content_type, found.filename)
