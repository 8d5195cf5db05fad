"""Staff pages of incidents and tips: the queue, an item and its triage steps, team incidents."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from portal.errors import FormInvalid
from portal.extensions import htmx
from portal.incidents import filters, kinds, services
from portal.models import INCIDENT_KINDS
from portal.security import protect_blueprint
from portal.web import changed, form_id, history_fragment, page_arg, see

bp = Blueprint("incidents", __name__, url_prefix="/incidents")
protect_blueprint(bp)
bp.add_app_template_global(kinds.kind_label, "incident_kind_label")
bp.add_app_template_global(kinds.status_label, "incident_status_label")
bp.add_app_template_global(kinds.source_label, "incident_source_label")
bp.add_app_template_global(kinds.located_label, "incident_located_label")
bp.add_app_template_global(services.step_label, "incident_step_label")
bp.add_app_template_global(lambda: kinds.kind_choices(INCIDENT_KINDS), "incident_kind_choices")


@bp.get("/")
def queue():
    args = request.args
    if "open" not in args:
        args = args.copy()
        args["open"] = "1"  # the queue opens on what still waits for an officer
    view = services.queue(filters.parse_filters(args, default_days=90), page_arg())
    if htmx and htmx.target == "incident-list":
        return render_template("incidents/_list.html", view=view)
    return render_template("incidents/queue.html", view=view)


@bp.get("/<int:incident_id>")
def item(incident_id: int):
    view = services.item(incident_id, page_arg("history_page"))
    if htmx and htmx.target == "history":
        return history_fragment(view.history, "incidents.item", incident_id=incident_id)
    saved = request.args.get("saved") == "1"
    return render_template("incidents/item.html", view=view, errors={}, saved=saved)


def _item_after(incident_id: int, errors: dict, status: int = 200):
    """The item's triage section again, after a step or with what was wrong."""
    view = services.item(incident_id)
    if htmx:
        body = render_template("incidents/_triage.html", view=view, errors=errors)
        return changed(body) if not errors else (body, status)
    return render_template("incidents/item.html", view=view, errors=errors), status


@bp.post("/<int:incident_id>/step")
def step(incident_id: int):
    try:
        services.advance(
            incident_id, request.form.get("action", ""), request.form.get("case_ref", "")
        )
    except FormInvalid as exc:
        return _item_after(incident_id, exc.fields, exc.status)
    return _item_after(incident_id, {})


@bp.post("/<int:incident_id>/undo")
def undo(incident_id: int):
    try:
        services.undo(incident_id)
    except FormInvalid as exc:
        return _item_after(incident_id, exc.fields, exc.status)
    return _item_after(incident_id, {})


@bp.post("/<int:incident_id>/merge")
def merge(incident_id: int):
    try:
        target = services.merge(incident_id, form_id("into") or 0)
    except FormInvalid as exc:
        return _item_after(incident_id, exc.fields, exc.status)
    return see("incidents.item", incident_id=target.id)


@bp.post("/<int:incident_id>/unmerge")
def unmerge(incident_id: int):
    try:
        services.unmerge(incident_id)
    except FormInvalid as exc:
        return _item_after(incident_id, exc.fields, exc.status)
    return see("incidents.item", incident_id=incident_id)


@bp.get("/<int:incident_id>/photo")
def photo(incident_id: int):
    """The re-encoded photo (JPEG, no metadata), for staff in scope only."""
    data = services.photo(incident_id)
    headers = {"Content-Type": "image/jpeg", "Content-Disposition": "inline"}
    return data, 200, headers


@bp.route("/new", methods=["GET", "POST"])
def record():
    """A team's incident: found on a patrol (patrol_id) or reported to the team."""
    source = request.form if request.method == "POST" else request.args
    form = services.RecordForm.from_form(source)
    if request.method == "GET":
        page = services.record_page_with_map(form)
        return render_template("incidents/record.html", page=page, errors={})
    try:
        incident = services.record(form)
    except FormInvalid as exc:
        page = services.record_page_with_map(form)
        return render_template("incidents/record.html", page=page, errors=exc.fields), exc.status
    return see("incidents.item", incident_id=incident.id, saved=1)


from portal.incidents import map_views  # noqa: E402, F401  (the maps' routes, same blueprint)
