"""Our static files and the front-end packages served from node_modules (no CDN anywhere),
each under a URL that carries a hash of its content.

static_url() and vendor_url() are the only way templates and maps name these files: the URL
carries ?v=<first 12 hex of the content's SHA-256>, so a browser may keep it a year unchanged
(Cache-Control: immutable) and a new release is fetched at once under its new URL. A URL with an
old hash (a page cached before a release) is redirected to the current one, never a 404; a URL
without a hash is served too, revalidated each time.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, abort, redirect, request, send_from_directory, url_for

from portal.config import ROOT

NODE_MODULES = ROOT / "node_modules"
STATIC = ROOT / "static"

# Only these folders of the npm packages are served.
SERVED = (
    "leaflet/dist/",
    "htmx.org/dist/",
    "@geoman-io/leaflet-geoman-free/dist/",
    "leaflet.markercluster/dist/",
    "leaflet.heat/dist/",
    "leaflet.vectorgrid/dist/",  # vector tiles of the villages (portal.tiles)
    "leaflet-textpath/leaflet.textpath.js",  # street names along the streets
)
IMMUTABLE = "public, max-age=31536000, immutable"
ENDPOINTS = {"static": STATIC, "vendor": NODE_MODULES}

_hashes: dict[Path, tuple[int, int, str]] = {}


def fingerprint(folder: Path, filename: str) -> str | None:
    """The file's content hash (12 hex), recomputed only when its size or time changes; None
    when there is no such file inside the folder."""
    path = (folder / filename).resolve()
    if not path.is_relative_to(folder.resolve()) or not path.is_file():
        return None
    stat = path.stat()
    known = _hashes.get(path)
    if known and known[:2] == (stat.st_mtime_ns, stat.st_size):
        return known[2]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    _hashes[path] = (stat.st_mtime_ns, stat.st_size, digest)
    return digest


def _url(endpoint: str, filename: str) -> str:
    version = fingerprint(ENDPOINTS[endpoint], filename)
    if version is None:
        return url_for(endpoint, filename=filename)
    return url_for(endpoint, filename=filename, v=version)


def static_url(path: str) -> str:
    """The fingerprinted URL of one of our own files under static/."""
    return _url("static", path)


def vendor_url(path: str) -> str:
    """The fingerprinted URL of a front-end package's file (see SERVED)."""
    return _url("vendor", path)


def _stale_version():
    """A file asked for by an old hash: to its current URL (the content has changed)."""
    folder = ENDPOINTS.get(request.endpoint or "")
    version = request.args.get("v")
    if folder is None or version is None:
        return None
    filename = (request.view_args or {}).get("filename", "")
    current = fingerprint(folder, filename)
    if current is None or current == version:
        return None
    response = redirect(url_for(request.endpoint, filename=filename, v=current), 302)
    response.headers["Cache-Control"] = "no-cache"
    return response


def _cache_headers(response):
    """A year, immutable, for a file asked for by its current hash; else revalidate each time.

    The file is read into the response (it is sent as a stream otherwise), so that
    portal.compression compresses it whole, with its length; a browser fetches each version once.
    """
    if request.endpoint in ENDPOINTS and response.status_code == 200:
        response.direct_passthrough = False
        response.set_data(response.get_data())
    if request.endpoint in ENDPOINTS and response.status_code in (200, 304):
        if request.args.get("v"):  # a stale one was redirected before the view
            response.headers["Cache-Control"] = IMMUTABLE
        else:
            response.headers["Cache-Control"] = "no-cache"
    return response


def init_app(app: Flask) -> None:
    @app.get("/vendor/<path:filename>")
    def vendor(filename: str):
        if not filename.startswith(SERVED):
            abort(404)
        return send_from_directory(NODE_MODULES, filename)

    app.before_request(_stale_version)
    app.after_request(_cache_headers)
    app.jinja_env.globals["vendor_url"] = vendor_url
    app.jinja_env.globals["static_url"] = static_url
    from portal.mapping import geoman_lang

    app.jinja_env.globals["geoman_lang"] = geoman_lang
