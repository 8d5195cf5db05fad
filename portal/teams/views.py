"""Teams within the user's scope: a list, and a team's page."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from portal.errors import FormInvalid
from portal.extensions import htmx
from portal.inputs import to_id
from portal.security import protect_blueprint
from portal.teams import management, services
from portal.web import form_id, history_fragment, id_arg, page_arg, see

bp = Blueprint("teams", __name__, url_prefix="/teams")
protect_blueprint(bp)
bp.add_app_template_global(services.role_label, "role_label")
bp.add_app_template_global(services.education_label, "education_label")
bp.add_app_template_global(services.status_label, "team_status_label")
bp.add_app_template_global(services.problems, "team_problems")


@bp.get("/")
def index():
    args = request.args
    asked = services.team_list(
        args.get("q", "").strip(),
        id_arg("commune_id"),
        args.get("status", ""),
        args.get("sort", ""),
        args.get("desc") == "1",
    )
    teams = services.list_teams(asked, page_arg())
    if htmx and htmx.target == "team-list":
        return render_template(
            "teams/_list.html", teams=teams, asked=asked, sort_labels=services.SORT_LABELS, oob=True
        )
    return render_template(
        "teams/index.html",
        teams=teams,
        asked=asked,
        sort_labels=services.SORT_LABELS,
        communes=services.commune_choices(),
    )


@bp.get("/<int:team_id>")
def show(team_id: int):
    if htmx and htmx.target == "history":
        team, history = services.team_history(team_id, page_arg("history_page"))
        return history_fragment(history, "teams.show", team_id=team.id)
    view = services.team_view(team_id, page_arg("history_page"), _saved_arg())
    return render_template("teams/page.html", view=view, **management.move_choices(view.team))


def _saved_arg() -> int | None:
    """?saved=: the member just saved (the confirmation names them); anything odd is no one."""
    return to_id(request.args.get("saved", "").strip() or None)


# --- keeping teams and members ---------------------------------------------------------------


def _team_form_page(form, errors, team=None, status=200, notice=""):
    choices = management.team_choices(form.commune_id)
    errors = management.in_form_order(errors, management.TEAM_FIELD_LABELS)
    return render_template(
        "teams/edit.html",
        form=form,
        errors=errors,
        team=team,
        notice=notice,
        labels=management.TEAM_FIELD_LABELS,
        **choices,
    ), status


@bp.route("/new", methods=["GET", "POST"])
def new():
    management.require_team_manager()
    if request.method == "GET":
        form, notice = management.new_team_form(id_arg("commune_id"), _village_arg())
        return _team_form_page(form, {}, notice=notice)
    form = management.TeamForm.from_form(request.form)
    try:
        team = management.save_team(form)
    except FormInvalid as exc:
        return _team_form_page(form, exc.fields, status=exc.status)
    return see("teams.show", team_id=team.id)


def _village_arg() -> int | None:
    """?village=: a village to create a team for; a value no village can have is ignored like
    one out of scope (the form says so), never a page about the id."""
    text = request.args.get("village", "").strip()
    if not text:
        return None
    return to_id(text) or 0


@bp.route("/<int:team_id>/edit", methods=["GET", "POST"])
def edit(team_id: int):
    management.require_team_manager()
    team = services.get_team(team_id)
    if request.method == "GET":
        return _team_form_page(management.TeamForm.of(team), {}, team)
    form = management.TeamForm.from_form(request.form)
    try:
        management.save_team(form, team.id)
    except FormInvalid as exc:
        return _team_form_page(form, exc.fields, team, exc.status)
    return see("teams.show", team_id=team.id)


@bp.post("/validate")
def validate_team():
    """Validation as one types: the message (or none) for one field of the team form."""
    management.require_team_manager()
    form = management.TeamForm.from_form(request.form)
    errors = management.check_team(form, id_arg("team_id"))
    return _field_error(request.args.get("field", ""), errors)


@bp.route("/<int:team_id>/members/new", methods=["GET", "POST"])
def new_member(team_id: int):
    team = management.managed_team(team_id)
    form, errors, status = management.MemberForm(), {}, 200
    if request.method == "POST":
        form = management.MemberForm.from_form(request.form)
        try:
            member = management.add_member(team.id, form)
        except FormInvalid as exc:
            errors, status = exc.fields, exc.status
        else:
            return see("teams.show", team_id=team.id, saved=member.id)
    return _member_form_page(team, form, errors, status)


@bp.route("/<int:team_id>/members/<int:member_id>/edit", methods=["GET", "POST"])
def edit_member(team_id: int, member_id: int):
    team = management.managed_team(team_id)
    member = management.serving_member(team, member_id)
    form, errors, status = management.MemberForm.of(member), {}, 200
    if request.method == "POST":
        form = management.MemberForm.from_form(request.form)
        try:
            management.update_member(team.id, member.id, form)
        except FormInvalid as exc:
            errors, status = exc.fields, exc.status
        else:
            return see("teams.show", team_id=team.id, saved=member.id)
    return _member_form_page(team, form, errors, status, member)


def _member_form_page(team, form, errors, status, member=None):
    extra = {"member": member} if member is not None else {}
    return render_template(
        "teams/member.html",
        team=team,
        form=form,
        errors=management.in_form_order(errors, management.MEMBER_FIELD_LABELS),
        labels=management.MEMBER_FIELD_LABELS,
        **extra,
        **management.member_choices(team),
    ), status


@bp.post("/<int:team_id>/members/validate")
def validate_member(team_id: int):
    team = management.managed_team(team_id)
    form = management.MemberForm.from_form(request.form)
    errors = management.check_member(team, form, id_arg("member_id"))
    name = request.args.get("field", "")
    # the changed field's message, and out of band those of the fields whose rule reads it
    # (a date not filled in yet is not blamed for being empty before one reaches it; an empty
    # approval is the very thing its rule asks for)
    others = [f for f in management.checked_together(name) if f != name]
    return _field_error(name, errors) + "".join(
        render_template(
            "teams/_field_error.html",
            name=f,
            message=errors.get(f, "")
            if request.form.get(f, "").strip() or f == "age_approval"
            else "",
            oob=True,
        )
        for f in others
    )


@bp.post("/<int:team_id>/members/<int:member_id>/leave")
def member_leaves(team_id: int, member_id: int):
    try:
        management.leave(
            team_id,
            member_id,
            request.form.get("left_on", ""),
            request.form.get("left_decision", ""),
        )
    except FormInvalid as exc:
        return services_page(team_id, exc.fields, exc.status)
    return see("teams.show", team_id=team_id)


@bp.post("/<int:team_id>/members/<int:member_id>/move")
def member_moves(team_id: int, member_id: int):
    try:
        management.move(
            team_id,
            member_id,
            form_id("to_team_id"),
            request.form.get("left_on", ""),
            request.form.get("left_decision", ""),
            request.form.get("signer", ""),
        )
    except FormInvalid as exc:
        return services_page(team_id, exc.fields, exc.status)
    return see("teams.show", team_id=team_id)


def services_page(team_id: int, errors: dict, status: int):
    view = services.team_view(team_id)
    return render_template(
        "teams/page.html", view=view, errors=errors, **management.move_choices(view.team)
    ), status


def _field_error(name: str, errors: dict) -> str:
    return render_template("teams/_field_error.html", name=name, message=errors.get(name, ""))
