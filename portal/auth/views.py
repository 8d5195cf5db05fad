from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for

from portal.auth import services
from portal.i18n import LANGUAGES
from portal.security import login_required

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # only a path on this site: never an open redirect
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.netloc:
            return target
    return url_for("home")  # each role's own start page


@bp.route("/login", methods=["GET", "POST"])
def login():
    error, status = None, 200
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "")
        try:
            account = services.authenticate(
                username, request.form.get("password", ""), request.remote_addr
            )
        except (services.LoginFailed, services.LoginThrottled) as exc:
            error, status = exc.message, exc.status
        else:
            services.start_session(account, request.user_agent.string)
            return redirect(_safe_next(request.args.get("next")))
    return render_template(
        "auth/login.html",
        error=error,
        username=username,
        next=request.args.get("next"),
        expired=request.args.get("expired"),
    ), status


@bp.post("/logout")
@login_required
def logout():
    services.end_session()
    return redirect(url_for("auth.login"))


@bp.post("/lang")
def set_language():
    lang = request.form.get("lang")
    if lang in LANGUAGES:
        session["lang"] = lang
    return redirect(_safe_next(request.form.get("next")))
