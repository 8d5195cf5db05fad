"""Who is signed in, and the guard every non-public view goes through."""

from __future__ import annotations

from datetime import timedelta
from functools import wraps
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, redirect, request, session, url_for

from portal.auth import sessions
from portal.extensions import htmx, talisman
from portal.models import Account, AccountSession
from portal.scope import Scope, scope_for


def current_account() -> Account | None:
    return g.get("account")


def current_scope() -> Scope:
    """The scope every query of this request is built with."""
    if "scope" not in g:
        g.scope = scope_for(current_account())
    return g.scope


LOOPBACK = frozenset({"127.0.0.1", "::1"})
# a proxy on the same machine makes every visitor look local; these headers give it away
FORWARDING = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


def local_peer() -> bool:
    """A request from the machine itself with no proxy in between: with PROXY_HOPS set, the
    address is what a proxy says, so no request counts as local then."""
    return (
        not current_app.config["PROXY_HOPS"]
        and request.remote_addr in LOOPBACK
        and not any(header in request.headers for header in FORWARDING)
    )


def bearer_credentials() -> str | None:
    """What follows `Authorization: Bearer`; "" for an Authorization of another kind, None
    without one (for /ogc/'s API tokens and /metrics' token)."""
    header = request.headers.get("Authorization")
    if not header:
        return None
    scheme, _sep, secret = header.partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else ""


def current_session() -> AccountSession | None:
    """The server-side row of this request's session, if signed in."""
    return g.get("account_session")


# probes and scrapes act for nobody: no session is read (so /livez never asks the database)
NO_SESSION = frozenset({"health.livez", "health.readyz", "health.prometheus"})


def _load_account() -> None:
    """Who is signed in: the session row the cookie's id names, checked on every request."""
    g.account = None
    if request.endpoint in NO_SESSION:
        return
    token = session.get(sessions.COOKIE_KEY)
    if token is None:
        return
    resumed = sessions.resume(token)
    if resumed.account is None:
        _end(resumed.expired)
        return
    g.account = resumed.account
    g.account_session = resumed.record


def _end(expired: str | None) -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    g.session_expired = expired


def _to_login() -> Response:
    target = url_for(
        "auth.login",
        next=request.full_path if request.method == "GET" else None,
        expired=g.get("session_expired"),  # idle or age: the login page says which
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


# Files that are the same for everyone, signed in or not: browsers may keep them.
SHARED_FILES = frozenset({"static", "vendor", "streets.features"})  # + the OSM street layer
# Responses that set their own policy: vector tiles are `private, no-cache` (the reader's own
# browser keeps them and revalidates every time, a 304 when unchanged: portal.tiles.services).
# They hold village names and coverage or counts, nothing a member or reporter wrote.
OWN_CACHE_POLICY = frozenset({"tiles.tile"})


def _no_store_when_signed_in(response: Response) -> Response:
    """Nothing shown to a signed-in account is kept by the browser or a proxy: pages and
    fragments hold names, phones and scope that the next user of a shared computer must not
    find in the cache or the back button. Public pages stay cacheable."""
    if request.endpoint in OWN_CACHE_POLICY and response.headers.get("Cache-Control"):
        return response
    if current_account() is not None and request.endpoint not in SHARED_FILES:
        response.headers["Cache-Control"] = "no-store"
    return response


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
    app.after_request(_no_store_when_signed_in)
    app.jinja_env.globals["current_account"] = current_account
