"""pygeoapi, configured in code: one API object per (base URL, public or staff, language).

The configuration is built here, not read from a YAML file: it names our provider plugin by its
dotted path and holds no database address or password (the plugin reads through the portal's
own session). pygeoapi's own flask_app module is not imported: it reads PYGEOAPI_CONFIG and
PYGEOAPI_OPENAPI files when imported and keeps one global API for the process, while we need
the staff layers listed only to staff and links that name the host the client asked. So our
blueprint (portal.ogc.views) calls pygeoapi's API functions the way its flask_app does.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache

from pygeoapi.api import API
from pygeoapi.openapi import get_oas

from portal.i18n import _
from portal.ogc import services
from portal.ogc.collections import COLLECTIONS

PROVIDER = "portal.ogc.provider.ViewProvider"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
DEFAULT_ITEMS = 10
MAX_ITEMS = 1000  # a page of 1,000 villages with their real outlines is a few MB
WORLD = [-180.0, -90.0, 180.0, 90.0]

# pygeoapi logs every request without an offset as a warning; its errors still reach the log
logging.getLogger("pygeoapi").setLevel(logging.ERROR)


def config(base_url: str, staff: bool, language: str, extents: dict) -> dict:
    """pygeoapi's configuration for one audience; `extents` maps collection ids to bboxes."""
    resources = {}
    for collection in COLLECTIONS.values():
        if collection.staff and not staff:
            continue  # anonymous clients do not learn the staff layers exist
        resources[collection.id] = {
            "type": "collection",
            "title": _(collection.title),
            "description": _(collection.description),
            "keywords": ["antt", collection.id],
            "extents": {"spatial": {"bbox": extents.get(collection.id) or WORLD}},
            "providers": [
                {
                    "type": "feature",
                    "name": PROVIDER,
                    "data": collection.id,
                    "id_field": "id",
                    "title_field": "name" if "name" in collection.fields else None,
                    # WGS 84 longitude/latitude only: another crs= answers 400, not wrong data
                    "crs": [CRS84],
                    "storage_crs": CRS84,
                }
            ],
            "limits": {"default_items": DEFAULT_ITEMS, "max_items": MAX_ITEMS},
        }
    title = _("Cổng thông tin tổ bảo vệ an ninh, trật tự: OGC API – Features")
    return {
        "server": {
            "url": base_url,
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": [language],
            "limits": {"default_items": DEFAULT_ITEMS, "max_items": MAX_ITEMS},
            "pretty_print": False,
            "gzip": False,  # the portal compresses every response itself (portal.compression)
            "map": {"url": "", "attribution": ""},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": title,
                "description": _(
                    "Ranh giới hành chính, tổ bảo vệ an ninh, trật tự và số liệu tuần tra theo"
                    " chuẩn OGC API – Features."
                ),
                "keywords": ["OGC API", "Features", "ANTT"],
                "keywords_type": "theme",
                "terms_of_service": base_url,
                "url": base_url,
            },
            "license": {"name": "", "url": base_url},
            "provider": {"name": _("Cổng thông tin tổ bảo vệ an ninh, trật tự"), "url": base_url},
            "contact": {"name": _("Cổng thông tin tổ bảo vệ an ninh, trật tự")},
        },
        "resources": resources,
    }


@lru_cache(maxsize=32)
def _api(base_url: str, staff: bool, language: str, extents_key: tuple) -> API:
    cfg = config(base_url, staff, language, dict(extents_key))
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        # pygeoapi sets up the root logger (basicConfig): keep the portal's logging as it was
        return API(cfg, get_oas(cfg))
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers


def api_for(base_url: str, staff: bool, language: str, extents: dict) -> API:
    """The API object for this audience (made once per process and key)."""
    key = tuple(sorted((k, tuple(v)) for k, v in extents.items() if v))
    return _api(base_url, staff, language, key)


def respond(
    function, request, *args, base_url: str, staff: bool, language: str
) -> tuple[int, dict, str | bytes]:
    """One of pygeoapi's API functions answered for this audience (see execute)."""
    extent = services.extent()
    extents = {c: extent for c in COLLECTIONS} if extent else {}
    status, headers, body = execute(
        api_for(base_url, staff, language, extents), function, request, *args
    )
    headers.pop("X-Powered-By", None)  # the portal does not advertise its parts' versions
    return status, headers, body


HTML_TYPES = ("text/html",)


# What we serve, of the classes pygeoapi would claim: no HTML, no writes (Part 4), no other CRS
# (Part 2: our provider serves WGS 84 longitude/latitude only), no Part 5 schemas.
CONFORMS_TO = tuple(
    "http://www.opengis.net/spec/" + c
    for c in (
        "ogcapi-common-1/1.0/conf/core",
        "ogcapi-common-1/1.0/conf/json",
        "ogcapi-common-1/1.0/conf/landing-page",
        "ogcapi-common-1/1.0/conf/oas30",
        "ogcapi-common-2/1.0/conf/collections",
        "ogcapi-features-1/1.0/conf/core",
        "ogcapi-features-1/1.0/conf/geojson",
        "ogcapi-features-1/1.0/conf/oas30",
        "ogcapi-features-3/1.0/conf/queryables",
        "ogcapi-features-3/1.0/conf/queryables-query-parameters",
    )
)


def _json_only(document):
    """No HTML links, and only the conformance classes we keep (CONFORMS_TO)."""
    if isinstance(document, dict) and "conformsTo" in document:
        document["conformsTo"] = [c for c in document["conformsTo"] if c in CONFORMS_TO]
    return _without_html_links(document)


def _without_html_links(node):
    """Drop links to HTML pages from a document: /ogc/ answers JSON only (portal.ogc.views)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "links" and isinstance(value, list):
                node[key] = [link for link in value if link.get("type") not in HTML_TYPES]
            else:
                _without_html_links(value)
    elif isinstance(node, list):
        for value in node:
            _without_html_links(value)
    return node


def execute(api: API, function, request, *args) -> tuple[int, dict, str | bytes]:
    """Run one of pygeoapi's API functions as its flask_app does, asking for JSON where the
    client would take HTML (see portal.ogc.views): status, headers and body."""
    from pygeoapi.api import APIRequest

    asked = (request.args.get("f") or "").strip().lower()
    if asked not in ("", "json", "html"):
        # JSON only (and html, answered as JSON): not pygeoapi's other formats (JSON-LD…), which
        # we do not declare; the error names the parameter, as every 400 of the portal does
        message = _("f: /ogc/ chỉ trả lời JSON; bỏ f hoặc dùng f=json.")
        body = json.dumps({"code": "InvalidParameterValue", "description": message})
        return 400, {"Content-Type": "application/json"}, body
    api_request = APIRequest.from_flask(request, api.locales)
    # whatever the Accept header names (text/html, application/ld+json…): JSON
    api_request._format = "json"
    headers, status, content = function(api, api_request, *args)
    if isinstance(content, str | bytes) and content[:1] in ("{", b"{"):
        content = json.dumps(_json_only(json.loads(content)), separators=(",", ":"))
    return int(status), headers, content
