"""Who is signed in, and the guard every non-public view goes through."""

from __future__ import annotations

from functools import wraps

from flask import Flask, Response, g, redirect, request, session, url_for
from sqlalchemy import select

from portal.extensions import db, htmx
from portal.models import Account


def current_account() -> Account | None:
    return g.get("account")


def _load_account() -> None:
    g.account = None
    account_id = session.get("account_id")
    if account_id is None:
        return
    account = db.session.scalar(
        select(Account).where(Account.id == account_id, Account.is_active.is_(True))
    )
    if account is None:  # disabled or deleted since login
        session.clear()
    g.account = account


def _to_login() -> Response:
    target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
    if htmx:
        # a fragment request cannot show a login page inside the fragment: send the whole page
        response = Response(status=401)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def login_required(view):
    @wraps(view)
    def guarded(*args, **kwargs):
        if current_account() is None:
            return _to_login()
        return view(*args, **kwargs)

    return guarded


def protect_blueprint(bp) -> None:
    """Every view of the blueprint needs a signed-in account."""

    @bp.before_request
    def require_login():
        if current_account() is None:
            return _to_login()
        return None


def init_app(app: Flask) -> None:
    app.before_request(_load_account)
    app.jinja_env.globals["current_account"] = current_account
