"""Boundary work: upload with a dry run, draw/split/merge with decisions, review and revert."""

from __future__ import annotations

import json

from flask import Blueprint, Response, render_template, request

from portal.audit import LEVEL_LABELS
from portal.boundaries import editing, exports, services
from portal.errors import FormInvalid
from portal.extensions import htmx
from portal.i18n import N_, label
from portal.security import protect_blueprint
from portal.web import bbox_arg, form_id, form_ids, id_arg, page_arg, see

bp = Blueprint("boundaries", __name__, url_prefix="/boundaries")
protect_blueprint(bp)


BATCH_STATUS = {"draft": N_("Chờ xem xét"), "committed": N_("Đã nhập"), "discarded": N_("Đã hủy")}
CHANGE_KINDS = {
    "edit": N_("Sửa ranh giới"),
    "split": N_("Tách"),
    "merge": N_("Gộp"),
    "revert": N_("Hoàn tác"),
    "import": N_("Nhập tệp"),
}
PLAN_ACTIONS = {
    "create": N_("mới"),
    "update": N_("cập nhật"),
    "unchanged": N_("không đổi"),
    "blocked": N_("lỗi"),
}
bp.add_app_template_global(lambda s: label(BATCH_STATUS, s), "batch_status")
bp.add_app_template_global(lambda a: label(PLAN_ACTIONS, a), "action_label_plan")
bp.add_app_template_global(lambda k: label(CHANGE_KINDS, k), "change_kind")
bp.add_app_template_global(lambda v: label(LEVEL_LABELS, v), "upload_level")


@bp.get("/")
def index(errors=None, status=200):
    batches, changes, flags = services.hub(page_arg(), page_arg("changes_page"))
    if htmx and htmx.target in ("batches", "changes"):
        return render_template(f"boundaries/_{htmx.target}.html", batches=batches, changes=changes)
    return render_template(
        "boundaries/index.html",
        batches=batches,
        changes=changes,
        flags=flags,
        communes=services.communes(),
        crs_choices=services.crs_choices(),
        errors=errors or {},
        form=request.form,
    ), status


@bp.post("/uploads")
def upload():
    file = request.files.get("file")
    try:
        job = services.upload(
            file.read() if file else b"",
            file.filename if file else "",
            request.form.get("level", ""),
            form_id("commune_id"),
            request.form.get("crs", "auto"),
            request.form.get("layer"),
        )
    except FormInvalid as exc:
        return index(exc.fields, exc.status)
    return see("jobs.show", job_id=job.id)


@bp.get("/uploads/<int:batch_id>")
def batch(batch_id: int, errors=None, status=200):
    fragment = bool(htmx and htmx.target == "problems")
    view = services.batch_view(batch_id, page_arg("problems_page"), with_map=not fragment)
    if fragment:
        return render_template("boundaries/_problems.html", view=view)
    return render_template(
        "boundaries/batch.html",
        view=view,
        map_styles=services.BATCH_MAP_STYLES,
        errors=errors or {},
        form=request.form,
    ), status


@bp.get("/uploads/<int:batch_id>/features.geojson")
def batch_features(batch_id: int):
    """The dry run's features inside the map's view (?bbox=w,s,e,n), for the page's map."""
    body = services.batch_features(batch_id, bbox_arg())
    return Response(body, mimetype="application/geo+json")


@bp.post("/uploads/<int:batch_id>/commit")
def commit(batch_id: int):
    try:
        job = services.commit(
            batch_id,
            request.form.get("mode", ""),
            request.form.get("repairs") == "1",
            request.form.get("decision_number", ""),
            request.form.get("decision_date", ""),
        )
    except FormInvalid as exc:
        return batch(batch_id, exc.fields, exc.status)
    return see("jobs.show", job_id=job.id)


@bp.post("/uploads/<int:batch_id>/discard")
def discard(batch_id: int):
    services.discard(batch_id)
    return see("boundaries.index")


@bp.get("/changes/<int:change_id>")
def change(change_id: int, errors=None, status=200):
    view = services.get_change(change_id)
    return render_template(
        "boundaries/change.html",
        view=view,
        change=view.change,
        errors=errors or {},
    ), status


@bp.post("/changes/<int:change_id>/revert")
def revert(change_id: int):
    try:
        undo = editing.revert(change_id)
    except FormInvalid as exc:
        return change(change_id, exc.fields, exc.status)
    return see("boundaries.change", change_id=undo.id)


def _geojson_field(name: str) -> dict | None:
    """A drawn shape; None (which the edit names as the field's error) when the text is not
    JSON, nests deeper than Python's parser can follow, or holds a number too long to read."""
    try:
        value = json.loads(request.form.get(name) or "null")
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        return None
    return value if isinstance(value, dict) else None


@bp.route("/villages/<int:area_id>/edit", methods=["GET", "POST"])
def edit(area_id: int):
    """Draw a new boundary, or split the village along a line."""
    errors, status = {}, 200
    if request.method == "POST":
        action = request.form.get("action")
        number, when = (
            request.form.get("decision_number", ""),
            request.form.get("decision_date", ""),
        )
        try:
            if action == "split":
                names = (request.form.get("name_a", ""), request.form.get("name_b", ""))
                change = editing.split(area_id, _geojson_field("line"), names, number, when)
            else:
                change = editing.edit_boundary(area_id, _geojson_field("geometry"), number, when)
        except FormInvalid as exc:
            errors, status = exc.fields, exc.status
        else:
            return see("boundaries.change", change_id=change.id)
    view = services.editable_village(area_id)
    return render_template(
        "boundaries/edit.html",
        view=view,
        area=view.area,
        map=view.map,
        errors=errors,
        form=request.form,
        geometry=view.geometry,
    ), status


@bp.post("/villages/<int:area_id>/split-preview")
def split_preview(area_id: int):
    """The two parts a drawn line would make, labelled A (north) and B, for the editor's map."""
    try:
        body = services.split_preview(area_id, _geojson_field("line"))
    except FormInvalid as exc:
        return {"error": " ".join(exc.fields.values())}, exc.status
    return Response(body, mimetype="application/geo+json")


@bp.route("/communes/<int:commune_id>/merge", methods=["GET", "POST"])
def merge(commune_id: int):
    errors, status = {}, 200
    if request.method == "POST":
        try:
            change = editing.merge(
                form_ids("area_ids"),
                request.form.get("name", ""),
                request.form.get("decision_number", ""),
                request.form.get("decision_date", ""),
            )
        except FormInvalid as exc:
            errors, status = exc.fields, exc.status
        else:
            return see("boundaries.change", change_id=change.id)
    view = services.merge_choices(commune_id)
    return render_template(
        "boundaries/merge.html",
        view=view,
        commune=view.commune,
        villages=view.villages,
        errors=errors,
        form=request.form,
    ), status


@bp.get("/export.<fmt>")
def export(fmt: str):
    return exports.download(fmt, id_arg("commune_id"))


@bp.post("/export.<fmt>")
def export_city(fmt: str):
    """The whole city: a job, whose page offers the file once it is made."""
    commune_id = form_id("commune_id")
    if not exports.is_city_wide(commune_id):
        return exports.download(fmt, commune_id)
    return see("jobs.show", job_id=exports.start_city_export(fmt).id)
