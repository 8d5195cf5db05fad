"""The account's own API tokens: make one (its secret shown once), list them, revoke one."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for

from portal.errors import FormInvalid
from portal.security import current_account, protect_blueprint
from portal.tokens import services
from portal.web import see

bp = Blueprint("tokens", __name__, url_prefix="/account/tokens")
protect_blueprint(bp)


def _page(status: int = 200, **context):
    account = current_account()
    return render_template(
        "tokens/page.html",
        tokens=services.tokens_of(account),
        ogc_url=url_for("ogc.landing", _external=True),
        errors=context.pop("errors", {}),
        **context,
    ), status


@bp.get("/")
def index():
    return _page(revoked=request.args.get("revoked") == "1")


@bp.post("/")
def create():
    name = request.form.get("name", "")
    try:
        token, secret = services.create_token(current_account(), name)
    except FormInvalid as exc:
        return _page(exc.status, errors=exc.fields, name=name)
    # the secret is shown in this answer only: it is not stored and cannot be shown again
    return _page(201, created=token, secret=secret)


@bp.post("/<int:token_id>/revoke")
def revoke(token_id: int):
    if request.form.get("confirm") != "yes":
        token = services.get_token(current_account(), token_id)
        return render_template("tokens/confirm_revoke.html", token=token)
    services.revoke(current_account(), token_id)
    return see("tokens.index", revoked=1)
