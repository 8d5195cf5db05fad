"""Public pages and API of the citizens' look-up; no sign-in, nothing private.

One URL per resource: HTMX asks the same URL for the part it replaces (search results,
the card after a tap on the map, a page of villages).
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for

from portal.extensions import htmx
from portal.lookup import services
from portal.web import id_arg, page_arg

bp = Blueprint("lookup", __name__)
bp.add_app_template_global(services.phone_text, "phone_text")
API_MAX_AGE = 300  # seconds: teams change by decisions, not by the minute


@bp.get("/tra-cuu")
def index():
    q = request.args.get("q", "").strip()
    if htmx and htmx.target == "lookup-results":
        return render_template("lookup/_results.html", q=q, results=services.search(q, page_arg()))
    view = services.start_page(q, page_arg(), id_arg("tinh"))
    return render_template("lookup/index.html", view=view)


@bp.get("/tra-cuu/chon")
def choose():
    """The path without JavaScript: a commune (or province) chosen from a list leads to its page."""
    chosen = services.chosen(id_arg("tinh"), id_arg("xa"), id_arg("thon"))
    if chosen is None:
        return redirect(url_for("lookup.index"))
    return redirect(url_for("lookup.area", area_id=chosen), 303)


@bp.get("/tra-cuu/<int:area_id>")
def area(area_id: int):
    if htmx and htmx.target == "villages":
        page = services.children(area_id, page_arg())
        return render_template("lookup/_villages.html", area_id=area_id, page=page)
    view = services.card_page(services.for_area(area_id), page_arg())
    return render_template("lookup/area.html", view=view)


@bp.get("/tra-cuu/diem")
def point():
    lat, lon = services.point_args(request.args)
    card = services.at_point(lat, lon)
    if htmx and htmx.target == "card":
        body = services.card_fragment(card, lat, lon) or render_template(
            "lookup/_card.html", card=card
        )
        return body, 200, {"HX-Push-Url": request.full_path}
    return render_template("lookup/area.html", view=services.card_page(card))


@bp.get("/api/lookup")
def api():
    """GET /api/lookup?lat=…&lon=…: the card as JSON; 400 names a bad parameter, 404 outside."""
    lat, lon = services.point_args(request.args)
    card = services.at_point(lat, lon, with_outline=False)
    area_url = lambda area_id: url_for("lookup.area", area_id=area_id, _external=True)  # noqa: E731
    body = services.api_body(card, lat, lon, lambda c: services.card_json(c, area_url))
    if body is not None:  # the same bytes, from the area's kept answer (portal.lookup.index)
        response = current_app.response_class(body, mimetype=current_app.json.mimetype)
    else:
        response = jsonify(services.card_json(card, area_url))
    response.cache_control.public = True
    response.cache_control.max_age = API_MAX_AGE
    return response
