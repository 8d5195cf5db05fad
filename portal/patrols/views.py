"""The team leader's week and the planners' view of it: routes, the patrol log, tracks, maps."""

from __future__ import annotations

from flask import Blueprint

from portal.security import protect_blueprint

bp = Blueprint("patrols", __name__, url_prefix="/patrols")
protect_blueprint(bp)


# --- GPS tracks (portal.patrols.tracks) -------------------------------------------------------

from flask import render_template, request  # noqa: E402  (this part's own imports, kept with it)

from portal.errors import FormInvalid  # noqa: E402
from portal.extensions import htmx  # noqa: E402
from portal.models import Job  # noqa: E402
from portal.patrols import tracks  # noqa: E402
from portal.web import see  # noqa: E402


def _track(patrol_id: int, errors: dict | None = None, status: int = 200, **flags):
    """The track's fragment for HTMX, else the same on a page of its own."""
    view = tracks.track_view(patrol_id)
    template = "patrols/_track.html" if htmx else "patrols/track.html"
    return render_template(template, view=view, errors=errors or {}, **flags), status


@bp.get("/<int:patrol_id>/track")
def track(patrol_id: int):
    """The track's part of the patrol page (HTMX), or a page of its own."""
    return _track(patrol_id)


@bp.post("/<int:patrol_id>/track")
def upload_track(patrol_id: int):
    """A GPX file as the patrol's track: read now (small) or as a job (large)."""
    file = request.files.get("file")
    try:
        result = tracks.upload_track(
            patrol_id, file.filename if file else "", file.read() if file else b""
        )
    except FormInvalid as exc:
        return _track(patrol_id, exc.fields, exc.status)
    if isinstance(result, Job):
        return see("jobs.show", job_id=result.id)
    if htmx:
        return _track(patrol_id, saved=True)
    return see("patrols.show", patrol_id=patrol_id)


@bp.post("/<int:patrol_id>/track/delete")
def delete_track(patrol_id: int):
    """Remove the track; without the dialog's confirm=yes, ask first."""
    if request.form.get("confirm") != "yes":
        return _track(patrol_id, asking=True)
    tracks.remove_track(patrol_id)
    if htmx:
        return _track(patrol_id, removed=True)
    return see("patrols.show", patrol_id=patrol_id)
