"""Public pages of citizens' tips: the form, where a pin falls, the status by receipt code; and
the JSON API with its OpenAPI document. No sign-in; nothing private is ever shown here."""

from __future__ import annotations

import secrets

from flask import Blueprint, jsonify, make_response, redirect, render_template, request, url_for

from portal import openapi as api_document
from portal.errors import FormInvalid, NotFound
from portal.extensions import csrf, htmx
from portal.lookup.services import point_args
from portal.tips import api_doc, services
from portal.web import id_arg

bp = Blueprint("tips", __name__)
bp.add_app_template_filter(services.local_time, "vn_datetime")
bp.add_app_template_global(services.step_label, "tip_step_label")
DEVICE_COOKIE = "thiet_bi"
DEVICE_DAYS = 365


def _device() -> str | None:
    value = request.cookies.get(DEVICE_COOKIE, "")
    return value if 16 <= len(value) <= 64 and value.isalnum() else None


def _with_device(body, status: int = 200):
    """Give this browser a random device id (for the per-device limit) if it has none."""
    response = make_response(body, status)
    if _device() is None:
        response.set_cookie(
            DEVICE_COOKIE,
            secrets.token_hex(16),
            max_age=DEVICE_DAYS * 86400,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure,
        )
    return response


@bp.get("/bao-tin")
def form():
    page = services.form_page(id_arg("khu_vuc"), id_arg("xa"))
    if htmx and htmx.target == "village-choice":
        return render_template("tips/_villages.html", page=page)
    return _with_device(render_template("tips/form.html", page=page))


@bp.post("/bao-tin")
def send():
    upload = request.files.get("photo")
    photo = upload.read() if upload and upload.filename else None
    try:
        tip = services.submit(services.parse(request.form, photo), request.remote_addr, _device())
    except FormInvalid as exc:
        values = {k: v for k, v in request.form.items() if k != "csrf_token"}
        page = services.form_page(id_arg("khu_vuc"), id_arg("xa"), values, exc.fields)
        return _with_device(render_template("tips/form.html", page=page), exc.status)
    return redirect(url_for("tips.status", ma=tip.receipt, moi=1), 303)


@bp.get("/bao-tin/vi-tri")
def where():
    """Where the pin falls: the village, team and commune a tip there would go to."""
    lat, lon = point_args(request.args)
    return render_template("tips/_where.html", where=services.where_preview(lat, lon))


@bp.get("/bao-tin/theo-doi")
def status():
    """A tip's status by its receipt code: the form to type it, then the answer."""
    code = request.args.get("ma", "").strip()
    found = error = None
    try:
        found = services.status(code, request.remote_addr) if code else None
    except NotFound as exc:  # said beside the code, so that it can be typed again
        error = exc.message
    new = request.args.get("moi") == "1"
    body = render_template("tips/status.html", code=code, found=found, error=error, new=new)
    response = make_response(body, 404 if error else 200)
    response.cache_control.no_store = True  # a receipt and its answer, as the API's status
    return response


# --- the API ----------------------------------------------------------------------------------


@bp.post("/api/tips")
@csrf.exempt  # JSON from apps: no cookie, no session, so nothing for a forged request to ride on
def api_send():
    """POST /api/tips: a tip as JSON (photo optional, base64); 201 with the receipt."""
    data, photo = api_doc.read_tip(request)
    tip = services.submit(services.parse(data, photo), request.remote_addr, None)
    body = {
        "receipt": tip.receipt,
        "status": tip.status,
        "status_url": url_for("tips.api_status", receipt=tip.receipt, _external=True),
    }
    return jsonify(body), 201, {"Location": body["status_url"]}


@bp.get("/api/tips/<receipt>")
def api_status(receipt: str):
    """GET /api/tips/<receipt>: the tip's status; 404 for an unknown code."""
    response = jsonify(services.status(receipt, request.remote_addr).as_json())
    response.cache_control.no_store = True
    return response


@bp.get("/api/openapi.json")
def openapi():
    """The public JSON API's OpenAPI 3.1 document (portal/openapi.py): the look-up, the tips and
    the health check."""
    return jsonify(api_document.document())
