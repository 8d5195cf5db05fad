"""The team leader's week and the planners' view of it: routes, the patrol log, tracks, maps."""

from __future__ import annotations

import json
from datetime import timedelta

from flask import Blueprint, jsonify, redirect, render_template, request, url_for

from portal.errors import FormInvalid
from portal.extensions import htmx
from portal.models import Job
from portal.patrols import routes, services, tracks
from portal.security import current_scope, protect_blueprint
from portal.web import history_fragment, id_arg, page_arg, see

bp = Blueprint("patrols", __name__, url_prefix="/patrols")
protect_blueprint(bp)
bp.add_app_template_global(services.status_label, "patrol_status_label")
bp.add_app_template_global(services.violation_label, "violation_label")
bp.add_app_template_global(services.activity_label, "activity_label")
bp.add_app_template_global(services.local, "vn_time")
bp.add_app_template_global(services.weekday_label, "weekday_label")
bp.add_app_template_global(routes.metres, "metres")
bp.add_app_template_global(timedelta, "timedelta")


@bp.get("/")
def home():
    """A team leader's home: their team's week. Planners go to the patrol log."""
    if current_scope().role != "team_leader":
        return redirect(url_for("patrols.log"))
    week = services.parse_week(request.args.get("week", ""))
    return render_template("patrols/home.html", view=services.home_view(week))


@bp.get("/log")
def log():
    filters = services.parse_filters(request.args)
    view = services.list_view(filters, page_arg())
    if htmx and htmx.target == "patrol-list":
        return render_template("patrols/_list.html", view=view)
    return render_template("patrols/log.html", view=view)


@bp.get("/<int:patrol_id>")
def show(patrol_id: int):
    if htmx and htmx.target == "history":
        view = services.patrol_view(patrol_id, page_arg("history_page"))
        return history_fragment(view.history, "patrols.show", patrol_id=patrol_id)
    return render_template(
        "patrols/patrol.html",
        view=services.patrol_view(patrol_id, page_arg("history_page")),
        track=tracks.track_view(patrol_id),
        errors={},
    )


def _plan_page(team, form, errors, patrol=None, status=200):
    return render_template(
        "patrols/plan.html",
        team=team,
        form=form,
        errors=errors,
        patrol=patrol,
        members=services.serving_members(team),
        routes=services.team_routes(team),
    ), status


@bp.route("/teams/<int:team_id>/plan", methods=["GET", "POST"])
def plan(team_id: int):
    team = routes.writable_team(team_id)
    if request.method == "GET":
        form = services.PlanForm(
            day=request.args.get("day") or services.today().isoformat(),
            start="19:00",
            end="22:00",
            route_id=request.args.get("route_id", ""),
        )
        return _plan_page(team, form, {})
    form = services.PlanForm.from_form(request.form)
    try:
        patrol = services.plan_patrol(team.id, form)
    except FormInvalid as exc:
        return _plan_page(team, form, exc.fields, status=exc.status)
    return see("patrols.show", patrol_id=patrol.id)


@bp.route("/<int:patrol_id>/edit", methods=["GET", "POST"])
def edit(patrol_id: int):
    view = services.patrol_view(patrol_id)
    if not view.can_write:
        return see("patrols.show", patrol_id=patrol_id)
    if request.method == "GET":
        planned = [m.id for m, was_planned, _went in view.members if was_planned]
        form = services.PlanForm.of(view.patrol, planned, view.route.id if view.route else None)
        return _plan_page(view.team, form, {}, view.patrol)
    form = services.PlanForm.from_form(request.form)
    try:
        services.update_plan(patrol_id, form)
    except FormInvalid as exc:
        return _plan_page(view.team, form, exc.fields, view.patrol, exc.status)
    return see("patrols.show", patrol_id=patrol_id)


@bp.route("/<int:patrol_id>/record", methods=["GET", "POST"])
def record(patrol_id: int):
    view = services.patrol_view(patrol_id)
    errors, status = {}, 200
    if request.method == "POST":
        form = services.RecordForm.from_form(request.form)
        try:
            services.record_patrol(patrol_id, form)
        except FormInvalid as exc:
            errors, status = exc.fields, exc.status
        else:
            return see("patrols.show", patrol_id=patrol_id)
    else:
        went = [m.id for m, planned, went in view.members if (went or planned)]
        if view.patrol.status == "done":
            went = [m.id for m, _planned, went in view.members if went]
        findings = {f.kind: f.count for f in view.findings}
        form = services.RecordForm.of(view.patrol, went, findings)
    return render_template(
        "patrols/record.html",
        view=view,
        form=form,
        errors=errors,
        members=services.serving_members(view.team, view.patrol.day),
        kinds=services.VIOLATION_KINDS,
    ), status


@bp.post("/<int:patrol_id>/cancel")
def cancel(patrol_id: int):
    return _set_cancelled(patrol_id, True)


@bp.post("/<int:patrol_id>/restore")
def restore(patrol_id: int):
    return _set_cancelled(patrol_id, False)


def _set_cancelled(patrol_id: int, cancelled: bool):
    try:
        services.set_cancelled(patrol_id, cancelled)
    except FormInvalid as exc:
        view = services.patrol_view(patrol_id)
        return render_template("patrols/patrol.html", view=view, errors=exc.fields), exc.status
    return see("patrols.show", patrol_id=patrol_id)


# --- routes -----------------------------------------------------------------------------------


def _geometry_field() -> dict | None:
    """The drawn line (GeoJSON); None, which the check names, when it is not a JSON object."""
    try:
        value = json.loads(request.form.get("geometry") or "null")
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


@bp.get("/teams/<int:team_id>/routes")
def team_routes(team_id: int):
    return render_template("patrols/routes.html", view=routes.routes_view(team_id))


def _editor(team_id, route_id, errors, status=200, form=None):
    view = routes.editor_view(team_id, route_id)
    return render_template(
        "patrols/route_edit.html", view=view, errors=errors, form=form or {}
    ), status


@bp.route("/teams/<int:team_id>/routes/new", methods=["GET", "POST"])
def new_route(team_id: int):
    if request.method == "GET":
        return _editor(team_id, None, {})
    try:
        route = routes.save_route(team_id, request.form.get("name", ""), _geometry_field())
    except FormInvalid as exc:
        return _editor(team_id, None, exc.fields, exc.status, request.form)
    return see("patrols.route", route_id=route.id)


@bp.route("/routes/<int:route_id>/edit", methods=["GET", "POST"])
def edit_route(route_id: int):
    route = routes.route_of(route_id)
    if request.method == "GET":
        return _editor(route.team_id, route.id, {})
    try:
        routes.save_route(route.team_id, request.form.get("name", ""), _geometry_field(), route.id)
    except FormInvalid as exc:
        return _editor(route.team_id, route.id, exc.fields, exc.status, request.form)
    return see("patrols.route", route_id=route.id)


@bp.post("/teams/<int:team_id>/routes/check")
def check_route(team_id: int):
    """The editor's check as one draws: JSON with the figures and the stretches outside."""
    return jsonify(routes.check_answer(team_id, _geometry_field()))


@bp.get("/routes/<int:route_id>")
def route(route_id: int):
    if htmx and htmx.target == "history":
        view = routes.route_view(route_id, page_arg("history_page"))
        return history_fragment(view.history, "patrols.route", route_id=route_id)
    return render_template(
        "patrols/route.html", view=routes.route_view(route_id, page_arg("history_page")), errors={}
    )


@bp.post("/routes/<int:route_id>/retire")
def retire_route(route_id: int):
    return _retire(route_id, True)


@bp.post("/routes/<int:route_id>/reinstate")
def reinstate_route(route_id: int):
    return _retire(route_id, False)


def _retire(route_id: int, retired: bool):
    try:
        routes.set_retired(route_id, retired)
    except FormInvalid as exc:
        view = routes.route_view(route_id)
        return render_template("patrols/route.html", view=view, errors=exc.fields), exc.status
    return see("patrols.route", route_id=route_id)


@bp.post("/routes/<int:route_id>/versions/<int:version_id>/restore")
def restore_version(route_id: int, version_id: int):
    try:
        routes.restore_version(route_id, version_id)
    except FormInvalid as exc:
        view = routes.route_view(route_id)
        return render_template("patrols/route.html", view=view, errors=exc.fields), exc.status
    return see("patrols.route", route_id=route_id)


# --- the planners' activity map ---------------------------------------------------------------


@bp.get("/activity")
def activity():
    months = services.parse_months(request.args)
    view = services.activity_view(id_arg("commune_id"), months, page_arg())
    return render_template("patrols/activity.html", view=view)


# --- GPS tracks (portal.patrols.tracks) -------------------------------------------------------


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
