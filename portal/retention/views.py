"""The city admin's page on the retention of reporters' data: the rule, tonight's run, the runs."""

from __future__ import annotations

from flask import Blueprint, render_template

from portal.extensions import htmx
from portal.retention import services
from portal.security import protect_blueprint
from portal.web import page_arg

bp = Blueprint("retention", __name__, url_prefix="/retention")
protect_blueprint(bp)


@bp.get("/")
def index():
    view = services.overview(page_arg())
    if htmx and htmx.target == "retention-runs":
        return render_template("retention/_runs.html", view=view)
    return render_template("retention/index.html", view=view)
