"""Front-end packages served by our own server from node_modules (no CDN anywhere)."""

from __future__ import annotations

from flask import Flask, abort, send_from_directory, url_for

from portal.config import ROOT

NODE_MODULES = ROOT / "node_modules"

# Only these folders of the npm packages are served.
SERVED = ("leaflet/dist/", "htmx.org/dist/", "@geoman-io/leaflet-geoman-free/dist/")


def vendor_url(path: str) -> str:
    return url_for("vendor", filename=path)


def init_app(app: Flask) -> None:
    @app.get("/vendor/<path:filename>")
    def vendor(filename: str):
        if not filename.startswith(SERVED):
            abort(404)
        return send_from_directory(NODE_MODULES, filename, max_age=86400)

    app.jinja_env.globals["vendor_url"] = vendor_url
