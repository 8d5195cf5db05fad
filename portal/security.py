"""Who is signed in, and the guard every non-public view goes through."""

from __future__ import annotations

import time
from datetime import timedelta
from functools import wraps
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, redirect, request, session, url_for
from sqlalchemy import select

from portal.extensions import db, htmx, talisman
from portal.models import Account
from portal.scope import Scope, scope_for


def current_account() -> Account | None:
    return g.get("account")


def current_scope() -> Scope:
    """The scope every query of this request is built with."""
    if "scope" not in g:
        g.scope = scope_for(current_account())
    return g.scope


def _load_account() -> None:
    g.account = None
    account_id = session.get("account_id")
    if account_id is None:
        return
    # Idle timeout, checked on the server: a copied cookie is no longer good once idle.
    now = int(time.time())
    idle_limit = current_app.config["IDLE_TIMEOUT_MINUTES"] * 60
    seen = session.get("seen", 0)
    if now - seen > idle_limit:
        _end(expired=True)
        return
    if now - seen > 60:  # refresh at most once a minute, not a new cookie on every request
        session["seen"] = now
    account = db.session.scalar(
        select(Account).where(Account.id == account_id, Account.is_active.is_(True))
    )
    if account is None or account.session_epoch != session.get("epoch", 0):
        # disabled, deleted or given a new password since this session signed in
        _end(expired=False)
        return
    g.account = account


def _end(expired: bool) -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    g.session_expired = expired


def _to_login() -> Response:
    target = url_for(
        "auth.login",
        next=request.full_path if request.method == "GET" else None,
        expired=1 if g.get("session_expired") else None,
    )
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


def content_security_policy(tile_url: str | None) -> dict:
    """Scripts only with this response's nonce, even from our own origin; nothing from other hosts.

    'strict-dynamic' makes browsers that know it ignore 'self': a script our pages did not tag,
    such as one loading our own htmx inside injected markup, cannot run. 'self' stays only for
    browsers too old for 'strict-dynamic'. No frames, workers or plugins: the portal uses none.
    """
    images = ["'self'", "data:"]
    if tile_url:
        parts = urlsplit(tile_url)
        if parts.netloc:
            images.append(f"{parts.scheme}://{parts.netloc}")
    return {
        "default-src": "'self'",
        # plus the nonce Talisman adds per response; every <script> we serve carries it
        "script-src": ["'strict-dynamic'", "'self'"],
        # Leaflet and folium set inline styles; styles cannot run code
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": images,
        "connect-src": "'self'",
        "font-src": "'self'",
        "object-src": "'none'",
        "frame-src": "'none'",
        "child-src": "'none'",
        "worker-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


def init_app(app: Flask) -> None:
    https = app.config["SESSION_COOKIE_SECURE"]
    talisman.init_app(
        app,
        content_security_policy=content_security_policy(app.config["MAP_TILE_URL"]),
        content_security_policy_nonce_in=["script-src"],
        force_https=https,
        session_cookie_secure=https,
        strict_transport_security=https,
        frame_options="DENY",
        referrer_policy="same-origin",
    )
    app.permanent_session_lifetime = timedelta(hours=app.config["SESSION_MAX_HOURS"])
    app.before_request(_load_account)
    app.jinja_env.globals["current_account"] = current_account
