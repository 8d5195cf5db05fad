"""OGC API – Features at /ogc/: pygeoapi's API functions behind our own blueprint.

JSON only. pygeoapi's HTML pages load Leaflet and other scripts from CDNs and run inline
scripts, which the portal's CSP blocks and its no-CDN rule forbids; GIS clients (QGIS, ArcGIS,
GDAL) read JSON, and people browse the portal's own maps. So a browser asking for HTML gets the
same JSON, and links to HTML pages are left out of the documents.

Who reads: anyone the public layers; the staff layers a signed-in account (its session cookie)
or an API token sent as `Authorization: Bearer …` (accepted here only), scoped like the account.
The portal's own hooks still apply: security headers, compression, error pages, size limits.
"""

from __future__ import annotations

import pygeoapi.api as core_api
import pygeoapi.api.itemtypes as itemtypes_api
from flask import Blueprint, g, jsonify, make_response, request

from portal.i18n import _, current_language, language_asked
from portal.ogc import api
from portal.ogc.collections import STAFF
from portal.security import bearer_credentials, current_account
from portal.tokens import services as tokens

bp = Blueprint("ogc", __name__, url_prefix="/ogc")


def _unauthorized(message: str):
    response = jsonify({"code": "Unauthorized", "description": message})
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="ogc"'
    return response


@bp.before_request
def choose_language():
    """A GIS client has no session to choose English with: ?lang= (pygeoapi's parameter) first,
    else an Accept-Language preferring English to Vietnamese; else the portal's own choice."""
    lang = language_asked("lang")
    if lang:
        g.lang = lang


@bp.before_request
def bearer_token():
    """An API token stands for its account on /ogc/ only (not on the rest of the portal)."""
    secret = bearer_credentials()
    if secret is None:
        return None
    account = tokens.account_for_token(secret) if secret else None
    if account is None:
        return _unauthorized(_("Mã truy cập không hợp lệ, đã thu hồi hoặc tài khoản đã bị khóa."))
    g.account = account
    g.pop("scope", None)  # the scope is the token's account's
    return None


def _run(function, *args, collection_id: str | None = None):
    if collection_id in STAFF and current_account() is None:
        return _unauthorized(_("Lớp dữ liệu này cần đăng nhập hoặc mã truy cập (Bearer)."))
    status, headers, body = api.respond(
        function,
        request,
        *args,
        base_url=request.url_root.rstrip("/") + bp.url_prefix,
        staff=current_account() is not None,
        language=current_language(),
    )
    response = make_response(body, status)
    response.headers.update(headers)
    # the answer depends on who asks (the staff layers are listed to staff): a shared cache must
    # not hand one client's answer to another (staff answers are no-store anyway)
    response.vary.update(("Authorization", "Cookie", "Accept-Language"))
    return response


@bp.get("/")
def landing():
    return _run(core_api.landing_page)


@bp.get("/api")
@bp.get("/openapi")
def openapi():
    return _run(core_api.openapi_)


@bp.get("/conformance")
def conformance():
    return _run(core_api.conformance)


@bp.get("/collections")
def collections():
    return _run(core_api.describe_collections)


@bp.get("/collections/<collection_id>")
def collection(collection_id: str):
    return _run(core_api.describe_collections, collection_id, collection_id=collection_id)


@bp.get("/collections/<collection_id>/queryables")
def queryables(collection_id: str):
    return _run(itemtypes_api.get_collection_queryables, collection_id, collection_id=collection_id)


@bp.get("/collections/<collection_id>/items")
def items(collection_id: str):
    return _run(itemtypes_api.get_collection_items, collection_id, collection_id=collection_id)


@bp.get("/collections/<collection_id>/items/<item_id>")
def item(collection_id: str, item_id: str):
    return _run(
        itemtypes_api.get_collection_item, collection_id, item_id, collection_id=collection_id
    )
