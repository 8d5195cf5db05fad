from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for

from portal.auth import services
from portal.i18n import LANGUAGES

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # only a path on this site: never an open redirect
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.netloc:
            return target
    return url_for("areas.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "")
        try:
            account = services.authenticate(username, request.form.get("password", ""))
        except services.LoginFailed as exc:
            error = exc.message
        else:
            services.start_session(account)
            return redirect(_safe_next(request.args.get("next")))
    status = 401 if error else 200
    return render_template(
        "auth/login.html", error=error, username=username, next=request.args.get("next")
    ), status


@bp.post("/logout")
def logout():
    services.end_session()
    return redirect(url_for("auth.login"))


@bp.post("/lang")
def set_language():
    lang = request.form.get("lang")
    if lang in LANGUAGES:
        session["lang"] = lang
    return redirect(_safe_next(request.form.get("next")))
