"""Account management: list, create, change role and scope, disable, reset password."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from portal.accounts import services
from portal.errors import FormInvalid
from portal.extensions import htmx
from portal.security import protect_blueprint
from portal.web import changed, history_fragment, id_arg, page_arg, see

bp = Blueprint("accounts", __name__, url_prefix="/accounts")
protect_blueprint(bp)
bp.add_app_template_global(services.role_label, "account_role_label")


@bp.get("/")
def index():
    q = request.args.get("q", "").strip()
    accounts = services.list_accounts(q, page_arg())
    if htmx and htmx.target == "account-list":
        return render_template("accounts/_list.html", accounts=accounts, q=q)
    return render_template("accounts/index.html", accounts=accounts, q=q)


@bp.get("/team-options")
def team_options():
    """The team select for the commune chosen in the account form."""
    _, teams = services.choices(id_arg("commune_id"))
    return render_template("accounts/_team_select.html", teams=teams, selected=None)


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = services.AccountForm.from_form(request.form) if request.method == "POST" else None
    errors, status = {}, 200
    if form is not None:
        try:
            account = services.create(form)
        except FormInvalid as exc:
            errors, status = exc.fields, exc.status
        else:
            return see("accounts.show", account_id=account.id, created=1)
    form = form or services.AccountForm(role="commune_officer")
    communes, teams = services.choices(form.commune_id)
    context = {"form": form, "errors": errors, "communes": communes, "teams": teams}
    template = "accounts/_create_form.html" if htmx else "accounts/new.html"
    return render_template(template, **context), status


def _full_page(account, status: int = 200, **parts):
    """The account's page; after a failed form without JavaScript, with that form's errors."""
    form = parts.pop("form", None) or services.AccountForm.from_account(account)
    communes, teams = services.choices(form.commune_id)
    _, history = services.history(account.id, page_arg("history_page"))
    context = {"errors": {}, "password_errors": {}, "status_errors": {}, **parts}
    return render_template(
        "accounts/page.html",
        account=account,
        form=form,
        communes=communes,
        teams=teams,
        history=history,
        created=request.args.get("created") == "1",
        **context,
    ), status


@bp.get("/<int:account_id>")
def show(account_id: int):
    if htmx and htmx.target == "history":
        account, history = services.history(account_id, page_arg("history_page"))
        return history_fragment(history, "accounts.show", account_id=account.id)
    return _full_page(services.get_account(account_id))


@bp.post("/<int:account_id>")
def update(account_id: int):
    form = services.AccountForm.from_form(request.form)
    try:
        account = services.update(account_id, form)
    except FormInvalid as exc:
        account = services.get_account(account_id)
        if not htmx:
            return _full_page(account, exc.status, form=form, errors=exc.fields)
        communes, teams = services.choices(form.commune_id)
        return render_template(
            "accounts/_edit_form.html",
            account=account,
            form=form,
            errors=exc.fields,
            communes=communes,
            teams=teams,
        ), exc.status
    if not htmx:
        return redirect(url_for("accounts.show", account_id=account.id), code=303)
    form = services.AccountForm.from_account(account)
    communes, teams = services.choices(form.commune_id)
    return changed(
        render_template(
            "accounts/_edit_form.html",
            account=account,
            form=form,
            errors={},
            communes=communes,
            teams=teams,
            saved=True,
        )
    )


def _act(account_id: int, change, fragment: str, errors_name: str):
    """Run one change to an account and answer with its part of the page (HTMX), or the page."""
    try:
        account = change()
    except FormInvalid as exc:
        account = services.get_account(account_id)
        if not htmx:
            return _full_page(account, exc.status, **{errors_name: exc.fields})
        return render_template(fragment, account=account, **{errors_name: exc.fields}), exc.status
    if not htmx:
        return redirect(url_for("accounts.show", account_id=account.id), code=303)
    return changed(render_template(fragment, account=account, saved=True, **{errors_name: {}}))


@bp.post("/<int:account_id>/active")
def set_active(account_id: int):
    active = request.form.get("active") == "1"
    if not active and request.form.get("confirm") != "yes":
        # without JavaScript there was no dialog: ask here, then post again with confirm=yes
        account = services.get_account(account_id)
        return render_template("accounts/confirm_disable.html", account=account)
    return _act(
        account_id,
        lambda: services.set_active(account_id, active),
        "accounts/_status.html",
        "status_errors",
    )


@bp.post("/<int:account_id>/password")
def reset_password(account_id: int):
    password = request.form.get("password", "")
    return _act(
        account_id,
        lambda: services.reset_password(account_id, password),
        "accounts/_password_form.html",
        "password_errors",
    )
